"""Test curves: the test loss and accuracy at the steps a job tests at."""
from __future__ import annotations

from singa_proto import job_pb2

Curve = dict[int, tuple[float, float]]  # step -> (test loss, test accuracy)


def is_test_step(job: job_pb2.JobProto, step: int) -> bool:
    """Whether the job tests before `step` (every test_freq steps, and after the last)."""
    return bool(job.test_freq and step % job.test_freq == 0) or step == job.train_steps
