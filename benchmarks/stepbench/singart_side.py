"""singart in a child process: the worker group's training step and the sgemm peak.

The one module that uses singart's internal API (compile_job/Source, store.build, WorkerGroup,
find_graph): when a refactor renames them, only this module changes. Imported by child processes only.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import singac
from singa_proto import job_pb2
from singac.source import Source
from singart import ops, store
from singart.train import find_graph
from singart.worker import WorkerGroup

from .nets import read_job

GEMMS = {"1024^3": (1024, 1024, 1024), "mlp-fc2": (64, 2500, 2000)}  # name -> (m, k, n)


def singart_train_step(job_path: str, threads: int) -> Callable[[int], None]:
    """One training step of a job file's worker group, as `singart run` runs it between its logs."""
    text = Path(job_path).read_text()
    plan = singac.compile_job(read_job(Path(job_path)), Source(job_path, text))
    graph = find_graph(plan, job_pb2.kTrain)
    values, _ = store.build(plan, graph)
    ops.set_num_threads(threads)  # this thread's kernels (run_plan does the same); workers set their own
    return WorkerGroup(graph, values, plan.job.seed, train=True).run


def sgemm_gflops(threads: int) -> dict[str, float]:
    """singart's sgemm (ops.gemm) GFLOP/s, best of several runs: 1024^3, and the MLP's largest GEMM
    (fc2 forward at batch 64: 64 x 2500 times 2500 x 2000)."""
    ops.set_num_threads(threads)
    rng = np.random.default_rng(0)
    out = {}
    for name, (m, k, n) in GEMMS.items():
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((n, k), dtype=np.float32)
        c = np.empty((m, n), np.float32)
        out[name] = 2 * m * n * k / best_seconds(lambda a=a, b=b, c=c: ops.gemm(a, b, c, trans_b=True)) / 1e9
    return out


def best_seconds(call: Callable[[], object], budget: float = 2.0, most: int = 200) -> float:
    """The fastest of at least 6 and at most `most` calls, stopping once `budget` seconds have passed."""
    best = math.inf
    deadline = time.perf_counter() + budget
    for i in range(most):
        t = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t)
        if i >= 5 and time.perf_counter() > deadline:
            break
    return best
