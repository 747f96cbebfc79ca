"""singa: SINGA jobs from Python, the seeds' "driver in the main function".

Build a job with the job file's own field and enum names (`Job`, `Job.layer`, `param`), compile it as
`singac compile` does (`Job.compile`), and train it in this process with its metrics as they arrive
(`run` with a callback, or iterate over a `Run`), or hand the plan file to `singart run` (`launch`).
"""
from __future__ import annotations

from singa_spec import SingaError

from .job import Job, param
from .running import Metrics, Run, Summary, launch, run

__all__ = ["Job", "Metrics", "Run", "SingaError", "Summary", "launch", "param", "run"]
