"""CD under data partitioning and across processes: two workers (each holding half of every batch)
train the RBM exactly as one worker does, per step; a worker and a server in two processes as one
process does."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import singac

from .rbm_jobs import rbm_job, write_shard
from .run_jobs import run_compiled

STEPS = 4
MOMENTUM = "type: kSGD momentum: 0.9 weight_decay: 0.001"
SERVER = "nworkers_per_procs: 1 server_worker_separate: true"
START = re.compile(r"rank (\d) role (\w+) g0:0 listening", re.MULTILINE)


def train(folder: Path, workers: int = 1, cluster: str = "", k: int = 2) -> tuple[list[str], dict, str]:
    """Run the RBM job with `singart run` in `folder`; its `Train @` lines, final params and stderr."""
    folder.mkdir()
    write_shard(folder / "shard")
    src = folder / "job.pbtxt"
    src.write_text(rbm_job(folder / "shard", folder / "ws", steps=STEPS, k=k, workers=workers,
                           updater=MOMENTUM, lr=0.1, cluster=cluster))
    plan = singac.compile_file(str(src))
    assert {g.num_partitions for g in plan.graphs} == {workers}
    return run_compiled(folder, plan, STEPS)


def errors(lines: list[str]) -> list[float]:
    return [float(m) for ln in lines for m in re.findall(r"Squared Error = ([^,\s]+)", ln)]


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict, str]:
    return train(tmp_path_factory.mktemp("rbm") / "one")


def same_run(got: tuple[list[str], dict, str], want: tuple[list[str], dict, str]) -> None:
    assert len(errors(want[0])) == STEPS
    np.testing.assert_allclose(errors(got[0]), errors(want[0]), rtol=1e-5)
    assert got[1].keys() == want[1].keys() == {"w", "bv", "bh"}
    for name, value in want[1].items():
        np.testing.assert_allclose(got[1][name], value, rtol=1e-5, atol=1e-6, err_msg=name)


def test_two_workers_train_as_one(tmp_path: Path, whole: tuple[list[str], dict, str]) -> None:
    same_run(train(tmp_path / "two", workers=2), whole)


def test_a_worker_and_a_server_process_train_as_one_process(tmp_path: Path,
                                                            whole: tuple[list[str], dict, str]) -> None:
    got = train(tmp_path / "procs", cluster=SERVER)
    assert sorted(START.findall(got[2])) == [("0", "workers"), ("1", "servers")]
    same_run(got, whole)
