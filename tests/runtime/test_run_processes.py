"""`singart run` of plans with several processes, as real processes: the same loss lines and final params
as the one-process run of the same job (Sandblaster, AllReduce), Downpour's groups each updating the
servers once per step, a killed rank ending the job, a wrong token refused, and mpirun as the launcher."""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from singart import checkpoint
from singart.distributed.launcher import free_port

from ..checkpoints import step_params as final_params
from .run_jobs import command, make_plan, run

START = re.compile(r"^\[rank (\d)\] rank (\d) role (.+) listening on 127\.0\.0\.1:(\d+)$", re.MULTILINE)
SANDBLASTER = "2 nworkers_per_procs: 1 server_worker_separate: true"
ALLREDUCE = "2 nworkers_per_procs: 1"
ONE_PROCESS = "2 nworkers_per_procs: 2"
TOKEN = "a-test-token-of-the-job-0123456789"


def quiet_port() -> int:
    """A free loopback port below the ephemeral range, which mpirun's own connections draw from."""
    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port from 20000 to 32000")


def loss_lines(stdout: str) -> list[str]:
    """The `Train @` lines, without the launcher's rank prefix."""
    return [re.sub(r"^\[rank 0\] ", "", line) for line in stdout.splitlines() if "Train @" in line]


def one_process(tmp_path: Path, steps: int) -> tuple[list[str], dict[str, np.ndarray]]:
    """The loss lines and final params of the job run in one process with both workers."""
    (tmp_path / "one").mkdir()
    plan = make_plan(tmp_path / "one", workers=ONE_PROCESS, steps=steps)
    done = run("singart", "run", str(plan))
    assert done.returncode == 0, done.stderr
    return loss_lines(done.stdout), final_params(tmp_path / "one" / "ws", steps)


@pytest.mark.parametrize("workers,nprocs", [(SANDBLASTER, 3), (ALLREDUCE, 2)])
def test_synchronous_processes_match_one_process(tmp_path: Path, workers: str, nprocs: int) -> None:
    (tmp_path / "multi").mkdir()
    plan = make_plan(tmp_path / "multi", workers=workers, steps=6)
    done = run("singart", "run", str(plan))
    assert done.returncode == 0, done.stderr
    starts = START.findall(done.stderr)
    assert sorted(int(r) for r, *_ in starts) == list(range(nprocs))
    assert len({port for *_, port in starts}) == nprocs  # a server of its own in each process
    assert all(prefix == rank for prefix, rank, *_ in starts)
    lines, params = one_process(tmp_path, 6)
    assert len(lines) == 6
    # identical lines; the params agree to float32 rounding (the servers apply SGD as value -= lr * grad,
    # the one-process run folds it into the kernels' output as beta * value + alpha * grad)
    assert loss_lines(done.stdout) == lines
    got = final_params(tmp_path / "multi" / "ws", 6)
    assert got.keys() == params.keys()
    for name in params:
        np.testing.assert_allclose(got[name], params[name], rtol=0, atol=1e-6)


def test_downpour_groups_converge_with_one_update_per_group_and_step(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, workers="1 nworkers_per_procs: 1 server_worker_separate: true", groups=2,
                     steps=30)
    env = {**os.environ, "SINGART_REPORT_UPDATES": "1"}
    done = subprocess.run(command("singart", "run", str(plan)), capture_output=True, text=True,
                          timeout=300, check=False, env=env)
    assert done.returncode == 0, done.stderr
    losses = [float(re.search(r"loss = ([0-9.e+-]+)", line).group(1))  # type: ignore[union-attr]
              for line in loss_lines(done.stdout)]
    assert len(losses) == 30
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.2
    (counts,) = re.findall(r"^\[rank 2\] rank 2 updates (.*)$", done.stderr, re.MULTILINE)
    updates = json.loads(counts)
    assert updates and all(per_group == {"0": 30, "1": 30} for per_group in updates.values())


def start_rank(plan: Path, rank: int, master: str, token: str = TOKEN) -> subprocess.Popen[str]:
    """One rank started by hand, as any launcher starts it (its rank and the job's in the environment)."""
    env = {**os.environ, "SINGA_RANK": str(rank), "SINGA_WORLD_SIZE": "3", "SINGA_MASTER": master,
           "SINGA_JOB_TOKEN": token}
    return subprocess.Popen(command("singart", "run", str(plan)), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_killed_rank_stops_the_others_naming_it(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, workers=SANDBLASTER, steps=1000000, checkpoint_freq=0)
    master = f"127.0.0.1:{free_port()}"
    ranks = [start_rank(plan, r, master) for r in range(3)]
    try:
        assert ranks[0].stdout is not None
        for line in ranks[0].stdout:  # training runs: rank 0 prints the merged lines
            if line.startswith("Train @ step 3:"):
                break
        ranks[1].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        for r in (0, 2):
            ranks[r].wait(timeout=10)
        assert time.monotonic() - killed < 10
        for r in (0, 2):
            err = ranks[r].stderr.read()  # type: ignore[union-attr]
            assert ranks[r].returncode != 0
            lost = [line for line in err.splitlines() if "lost rank 1, worker (group 0, id 1)" in line]
            assert len(lost) == 1, err
            assert "Traceback" not in err
    finally:
        for p in ranks:
            if p.poll() is None:
                p.kill()
            p.wait()


def test_a_rank_with_another_token_is_refused(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, workers=SANDBLASTER, steps=4)
    master = f"127.0.0.1:{free_port()}"
    ranks = [start_rank(plan, 0, master), start_rank(plan, 2, master)]
    try:
        intruder = start_rank(plan, 1, master, token="another-token-0123456789")
        _, err = intruder.communicate(timeout=60)
        assert intruder.returncode == 2
        lines = [line for line in err.splitlines() if line.startswith("singart:")]
        assert len(lines) == 1 and "UNAUTHENTICATED" in lines[0], err
        assert "Traceback" not in err
    finally:
        for p in ranks:
            p.kill()
            p.communicate()


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="no mpirun (Debian's openmpi-bin) on PATH")
def test_mpirun_starts_the_ranks(tmp_path: Path) -> None:
    (tmp_path / "multi").mkdir()
    plan = make_plan(tmp_path / "multi", workers=SANDBLASTER, steps=6)
    env = {**os.environ, "SINGA_JOB_TOKEN": TOKEN, "SINGA_MASTER": f"127.0.0.1:{quiet_port()}"}
    done = subprocess.run(["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", "3",
                           *command("singart", "run", str(plan))], capture_output=True, text=True,
                          timeout=300, check=False, env=env)
    assert done.returncode == 0, done.stderr
    lines, _ = one_process(tmp_path, 6)
    assert loss_lines(done.stdout) == lines


def test_a_feature_partitioned_group_split_over_two_processes_matches_one_process(tmp_path: Path) -> None:
    """Each process holds half of every layer's features: bridges carry the blocks between them."""
    from .run_jobs import FIELDS, JOB

    def plan_of(folder: Path, workers: str) -> Path:
        folder.mkdir()
        make_plan(folder, steps=4)  # writes the shard
        src = folder / "feature.pbtxt"
        src.write_text(JOB.format(**{**FIELDS, "steps": 4, "workers": workers}, ws=folder / "ws",
                                  shard=folder / "shard").replace("neuralnet {", "neuralnet { partition_dim: 1", 1))
        done = run("singac", "compile", str(src), "-o", str(folder / "feature.plan"))
        assert done.returncode == 0, done.stderr
        return folder / "feature.plan"

    two = plan_of(tmp_path / "two", ALLREDUCE)
    from singa_proto import plan_pb2
    from singa_spec.plans import read_plan
    train = next(g for g in read_plan(two).graphs if g.phase == 1)
    assert sum(n.kind == plan_pb2.kBridgeSrcNode for n in train.nodes) >= 4  # blocks cross the processes
    split = run("singart", "run", str(two))
    assert split.returncode == 0, split.stderr
    assert sorted(int(r) for r, *_ in START.findall(split.stderr)) == [0, 1]
    whole = run("singart", "run", str(plan_of(tmp_path / "one", ONE_PROCESS)))
    assert whole.returncode == 0, whole.stderr
    assert loss_lines(split.stdout) == loss_lines(whole.stdout) and len(loss_lines(whole.stdout)) == 4
    # the rank of worker 0 writes the checkpoint, taking the params only the other process uses from the
    # servers: the final params are the one-process run's
    def params(ws: Path) -> dict[str, np.ndarray]:
        return {k: v for f in sorted((ws / "checkpoint").glob("step4-worker*"))
                for k, (v, _) in checkpoint.read(f).items()}
    got, want = params(tmp_path / "two" / "ws"), params(tmp_path / "one" / "ws")
    assert got.keys() == want.keys() and len(want) == 6
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-6)
