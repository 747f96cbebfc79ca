"""Kernel threads follow what the process may use: its CPU affinity and OMP_NUM_THREADS, not the
machine's core count (a job pinned to one core must not run two threads per kernel)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from singart.worker import available_cores, kernel_threads


def test_omp_num_threads_caps_the_kernel_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert available_cores() == 3
    assert kernel_threads(1) == 3 and kernel_threads(2) == 1 and kernel_threads(8) == 1


def test_without_omp_num_threads_the_affinity_mask_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert available_cores() == len(os.sched_getaffinity(0))


def test_a_process_pinned_to_one_core_gets_one_thread_per_worker() -> None:
    code = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "from singart.worker import kernel_threads; print(kernel_threads(1), os.cpu_count())")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    threads, cpus = map(int, out.stdout.split())
    assert threads == 1
    assert cpus >= 1
