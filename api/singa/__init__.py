"""singa: SINGA jobs from Python, the seeds' "driver in the main function".

Build a job with the job file's own field and enum names (`Job`, `Job.layer`, `param`), compile it as
`singac compile` does (`Job.compile`), and train it in this process with its metrics as they arrive
(`run` with a callback, or iterate over a `Run`), or hand the plan file to `singart run` (`launch`).
A script registers its own layers, updaters, init methods, schedules and algorithms with
`register_layer`, ... or the decorators `layer`, `updater`, ... (for this process only; a plugin file
carries them to other processes).
"""
from __future__ import annotations

from singa_spec import SingaError
from singa_spec.layers import BATCH, FEATURES, ONE_TO_ALL, ONE_TO_ONE, LayerSpec
from singart.algorithms import Algorithm
from singart.layers import Layer, NumpyLayer

from .job import Job, param
from .register import (
    algorithm,
    init_method,
    layer,
    register_algorithm,
    register_init,
    register_layer,
    register_schedule,
    register_updater,
    schedule,
    updater,
)
from .running import Metrics, Run, Summary, launch, run

__all__ = ["BATCH", "FEATURES", "ONE_TO_ALL", "ONE_TO_ONE", "Algorithm", "Job", "Layer", "LayerSpec", "Metrics",
           "NumpyLayer", "Run", "SingaError", "Summary", "algorithm", "init_method", "launch", "layer", "param",
           "register_algorithm", "register_init", "register_layer", "register_schedule", "register_updater",
           "run", "schedule", "updater"]
