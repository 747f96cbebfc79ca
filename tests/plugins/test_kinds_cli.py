"""Every pluggable kind through the real `singac` and `singart` console scripts: a job with the Scale
layer and kinds_plugin.py's updater, init method (with its own extension), schedule and algorithm
compiles with both plugins, records them, and trains by the user's rules, in one process and in two;
`singac viz` draws gradients only for an algorithm that declares a backward pass."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from ..runtime.run_jobs import command
from .jobs import EVERY, KINDS_PLUGIN, RAMP, SCALE_PLUGIN, START, USER_KINDS, write_job
from .rules import assert_user_rules, params_at
from .test_plugin_cli import compile_job

STEPS = 4


def run_logged(plan: Path, log: Path) -> subprocess.CompletedProcess[str]:
    """`singart run PLAN`, with RecordedBP's calls written to `log`."""
    env = {**os.environ, "RECORDED_BP_LOG": str(log)}
    return subprocess.run(command("singart", "run", str(plan)), capture_output=True, text=True, timeout=300,
                          check=False, env=env)


def calls(log: Path) -> list[tuple[str, int, int]]:
    """The (phase, worker, step) of every call RecordedBP logged."""
    return [(p, int(w), int(s)) for p, w, s in (line.split() for line in log.read_text().splitlines())]


def test_every_kind_trains_through_the_cli(tmp_path: Path) -> None:
    job = write_job(tmp_path, steps=STEPS, top="checkpoint_freq: 1 checkpoint_keep: 0", **USER_KINDS)
    done = compile_job(job, str(SCALE_PLUGIN), str(KINDS_PLUGIN))
    assert done.returncode == 0, done.stderr
    ran = run_logged(job.with_suffix(".plan"), tmp_path / "calls")  # no --plugin: the plan names them
    assert ran.returncode == 0, ran.stderr
    assert len(re.findall(r"^Train @ step \d+: loss = ", ran.stdout, re.MULTILINE)) == STEPS
    folder = tmp_path / "ws" / "checkpoint"
    assert_user_rules(folder, STEPS, 0.1, EVERY, START, RAMP)
    assert "s" in params_at(folder, STEPS)  # the Scale layer's param moved by the same rule
    assert calls(tmp_path / "calls") == [("train", 0, s) for s in range(STEPS)]


def test_two_processes_with_user_kinds_match_one(tmp_path: Path) -> None:
    results = []
    for name, workers in (("one", "2 nworkers_per_procs: 2"), ("two", "2 nworkers_per_procs: 1")):
        (tmp_path / name).mkdir()
        job = write_job(tmp_path / name, steps=STEPS, workers=workers, **USER_KINDS)
        assert compile_job(job, str(SCALE_PLUGIN), str(KINDS_PLUGIN)).returncode == 0
        ran = run_logged(job.with_suffix(".plan"), tmp_path / name / "calls")
        assert ran.returncode == 0, ran.stderr
        lines = [re.sub(r"^\[rank 0\] ", "", x) for x in ran.stdout.splitlines() if "Train @" in x]
        results.append((lines, sorted(calls(tmp_path / name / "calls"))))
    (one, calls_one), (two, calls_two) = results
    assert len(one) == STEPS and two == one
    both = sorted(("train", w, s) for w in (0, 1) for s in range(STEPS))
    assert calls_one == calls_two == both  # the user's algorithm ran each step on each worker


def viz_text(tmp_path: Path, alg: str) -> str:
    """The SVG `singac viz` draws of the train net of a plan whose algorithm is `alg`."""
    folder = tmp_path / re.sub(r"\W", "", alg)
    folder.mkdir()
    job = write_job(folder, alg=alg)
    assert compile_job(job, str(SCALE_PLUGIN), str(KINDS_PLUGIN)).returncode == 0
    svg = folder / "plan.svg"
    done = subprocess.run(command("singac", "viz", str(job.with_suffix(".plan")), "-o", str(svg)),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return svg.read_text()


def test_viz_draws_gradients_as_the_algorithm_declares(tmp_path: Path) -> None:
    assert "(activations + gradients)" in viz_text(tmp_path, 'user_alg: "RecordedBP"')
    assert "(activations + gradients)" in viz_text(tmp_path, "alg: kBP")
    forward = viz_text(tmp_path, 'user_alg: "ForwardOnly"')  # declared with backward = False
    assert "(activations)" in forward and "gradients)" not in forward
