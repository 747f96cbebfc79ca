"""A job built in Python trains in this process with its metrics read as they arrive, and its plan
file trains the same under the `singart run` command."""
from __future__ import annotations

import io
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import singa

from .mlp import BIN, EXAMPLE, convert_digits, example

STEPS = 20
LINE = re.compile(r"^(Train|Test) @ step (\d+): loss = (\S+), accuracy = (\S+)$")


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mnist")
    convert_digits(folder)
    return folder


def short_job(folder: Path, workspace: Path) -> singa.Job:
    """The example's MLP for 20 steps, displaying every 5 and testing every 10."""
    job = example().mlp_job(str(folder), STEPS)
    job.proto.disp_freq, job.proto.test_freq, job.proto.test_steps = 5, 10, 2
    job.proto.cluster.workspace = str(workspace)
    return job


def log_lines(text: str) -> list[tuple[str, int, float, float]]:
    return [(m[1], int(m[2]), float(m[3]), float(m[4])) for m in map(LINE.match, text.splitlines()) if m]


def test_metrics_arrive_through_the_iterator(digits: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    run = singa.Run(short_job(digits, tmp_path / "ws"), out=out, err=io.StringIO())
    seen = list(run)
    lines = log_lines(out.getvalue())
    assert len(seen) == len(lines) == 7  # Train at 0, 5, 10, 15; Test at 0, 10, 20
    assert [(m.phase, m.step) for m in seen] == [(p, s) for p, s, _, _ in lines]
    for phase in ("Train", "Test"):
        steps = [m.step for m in seen if m.phase == phase]
        assert steps == sorted(set(steps)) and steps[-1] >= 15
    assert all(math.isfinite(m.values["loss"]) for m in seen)
    for m, (_, _, loss, accuracy) in zip(seen, lines):
        assert f"{m.values['loss']:.6g}" == f"{loss:.6g}" and f"{m.values['accuracy']:.6g}" == f"{accuracy:.6g}"
    assert run.summary is not None and run.summary.test == seen[-1].values
    assert run.summary.history == seen
    train = [m.values["loss"] for m in seen if m.phase == "Train"]
    assert train[-1] < train[0]  # it learns


def test_the_callback_and_the_singart_command_see_the_same_losses(digits: Path, tmp_path: Path) -> None:
    job = short_job(digits, tmp_path / "ws")
    seen: list[singa.Metrics] = []
    summary = singa.run(job, seen.append, out=io.StringIO(), err=io.StringIO())
    assert summary.history == seen and len(seen) == 7
    plan = tmp_path / "mlp.plan"
    job.compile(plan)
    proc = singa.launch(plan, "--overwrite", capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.args[:3] == [str(BIN / "singart"), "run", str(plan)]  # the console script users type
    assert [(p, s, f"{loss:.6g}") for p, s, loss, _ in log_lines(proc.stdout)] == \
        [(m.phase, m.step, f"{m.values['loss']:.6g}") for m in seen]


def test_leaving_the_loop_stops_the_run(digits: Path, tmp_path: Path) -> None:
    job = short_job(digits, tmp_path / "ws")
    job.proto.disp_freq = 0  # the next log line after the first is the test at step 10
    out = io.StringIO()
    run = singa.Run(job, out=out, err=io.StringIO())
    for metrics in run:
        break
    assert metrics.phase == "Test" and metrics.step == 0 and run.summary is None
    steps = [step for _, step, _, _ in log_lines(out.getvalue())]
    assert steps == [0], out.getvalue()  # it stopped within a step, not at the next log line
    job.proto.disp_freq = 5
    done = list(singa.Run(job, overwrite=True, out=io.StringIO(), err=io.StringIO()))  # the lock is free
    assert len(done) == 7


def test_errors_reach_the_reader_as_one_line(tmp_path: Path) -> None:
    job = short_job(tmp_path / "absent", tmp_path / "ws")
    with pytest.raises(singa.SingaError, match=r"layer 'data'.*absent/mnist_train_shard"):
        list(singa.Run(job, out=io.StringIO(), err=io.StringIO()))
    job.proto.cluster.nworkers_per_procs = 1
    job.proto.cluster.nworkers_per_group = 2
    with pytest.raises(singa.SingaError, match=r"^job 'mlp': the plan runs as 2 processes"):
        singa.run(job)


def test_the_example_script_trains(digits: Path) -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--steps", "10", "--data", str(digits)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    assert [s for p, s, _, _ in log_lines(proc.stdout) if p == "Test"] == [0, 10]
    assert len(re.findall(r"-> test accuracy 0\.\d+ at step", proc.stdout)) == 2
