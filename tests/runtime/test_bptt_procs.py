"""The GRU language model trained by kBPTT across processes, each run by `singart run` as a real process:
a worker process and a server process, and two data-partitioned worker processes and a server, print
the one-process run's loss lines and end with its params (the state carried across batches stays in
each worker process)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import singac

from .rnn_jobs import lm_job, write_windows
from .run_jobs import run_compiled

STEPS, LR = 4, 0.5
START = re.compile(r"rank (\d) role (\w+) (\S+) listening", re.MULTILINE)

Run = tuple[list[str], dict[str, np.ndarray], str]  # Train lines, final params, stderr


def train(folder: Path, workers: int = 1, cluster: str = "") -> Run:
    """Compile the job in `folder` and run its plan with `singart run`; its `Train @` lines (rank prefix
    dropped), final params and stderr."""
    folder.mkdir()
    src = folder / "job.pbtxt"
    src.write_text(lm_job(write_windows(folder / "shard"), folder / "ws", "kGRU", workers, STEPS, "kBPTT", LR,
                          cluster=cluster))
    return run_compiled(folder, singac.compile_file(str(src)), STEPS)


def losses(lines: list[str]) -> list[float]:
    return [float(x) for ln in lines for x in re.findall(r"loss = ([^,\s]+)", ln)]


def same_params(got: dict[str, np.ndarray], want: dict[str, np.ndarray], rtol: float) -> None:
    assert got.keys() == want.keys() == {"e", "wx", "wh", "b", "w", "bo"}
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, rtol=rtol, atol=1e-6, err_msg=name)


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return train(tmp_path_factory.mktemp("bptt") / "one")


def test_a_worker_and_a_server_process_train_as_one_process(tmp_path: Path, whole: Run) -> None:
    got = train(tmp_path / "procs", cluster="nworkers_per_procs: 1 server_worker_separate: true")
    assert sorted(START.findall(got[2])) == [("0", "workers", "g0:0"), ("1", "servers", "g0:0")]
    assert len(whole[0]) == STEPS
    assert got[0] == whole[0]
    same_params(got[1], whole[1], rtol=1e-5)


def test_two_worker_processes_and_a_server_train_as_one_process(tmp_path: Path, whole: Run) -> None:
    got = train(tmp_path / "two", workers=2, cluster="nworkers_per_procs: 1 server_worker_separate: true")
    roles = sorted(START.findall(got[2]))
    assert roles == [("0", "workers", "g0:0"), ("1", "workers", "g0:1"), ("2", "servers", "g0:0")]
    np.testing.assert_allclose(losses(got[0]), losses(whole[0]), rtol=2e-5)
    assert len(losses(got[0])) == STEPS
    same_params(got[1], whole[1], rtol=1e-4)
