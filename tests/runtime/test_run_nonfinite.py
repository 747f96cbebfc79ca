"""A run whose loss or params go NaN or infinite stops at that step with one line, exit code 2, and
leaves the last checkpoint whose params are still finite as the newest complete one."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from singa_spec.plans import read_plan, seal, write_plan
from singart import checkpoint, manifests

from .run_jobs import make_plan, newest_complete, run

# the learning rate jumps at step 5: 0.1 before, huge after
JUMP = "type: kStep base_lr: 0.1 step_conf {{ change_freq: 5 gamma: {gamma} }}"


def _error_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def _all_finite(folder: Path) -> None:
    for path in folder.glob("step*-worker*"):
        for name, (value, _) in checkpoint.read(path).items():
            assert np.isfinite(value).all(), (path.name, name)


def test_nan_loss_stops_at_its_step(tmp_path: Path) -> None:
    # lr 1e29 from step 5 on: step 5's update leaves huge finite weights, and step 6's forward overflows
    proc = run("singart", "run", str(make_plan(tmp_path, steps=20, learning_rate=JUMP.format(gamma=1e30))))
    line = _error_line(proc)
    assert line == ("singart: error: step 6: loss is nan (first non-finite output: layer 'fc2'); "
                    "the last good checkpoint is step 4"), line
    assert "nan" not in proc.stdout and proc.stdout.splitlines()[-1].startswith("Train @ step 5:")
    folder = tmp_path / "ws" / "checkpoint"
    # step 6's checkpoint was written before its forward, with the params that overflow: withdrawn
    assert newest_complete(folder) == 4
    assert not list(folder.glob("step6*")) and not list(folder.glob("step8*"))
    _all_finite(folder)


def test_param_gone_non_finite_is_never_checkpointed(tmp_path: Path) -> None:
    # an infinite gamma (the compiler refuses it; a plan from elsewhere may carry it): lr 0.1 until step
    # 5, infinite from there, so step 5's update makes the weights non-finite while its own loss was
    # finite; the checkpoint due at step 6 refuses to save them
    path = make_plan(tmp_path, steps=20, learning_rate=JUMP.format(gamma=10))
    plan = read_plan(path)
    plan.job.updater.learning_rate.step_conf.gamma = math.inf
    write_plan(seal(plan), path)
    proc = run("singart", "run", str(path))
    line = _error_line(proc)
    assert re.fullmatch(r"singart: error: step 6: param 'w\d' holds (nan|inf) \(an update before this step "
                        r"made it non-finite\); the last good checkpoint is step 4", line), line
    assert newest_complete(tmp_path / "ws" / "checkpoint") == 4
    _all_finite(tmp_path / "ws" / "checkpoint")


@pytest.mark.parametrize("workers, groups", [(2, 1), (1, 2), (2, 2)])
def test_several_workers_and_groups_stop_too(tmp_path: Path, workers: int, groups: int) -> None:
    # background groups run ahead of group 0 or behind it (their updates land in the shared params, even
    # before group 0's first step), so the failing step is not fixed; what holds is the one line, naming
    # group 0's step (the one checkpoints are numbered by: the step after the last it logged, whichever
    # group failed), and no checkpoint at or after it
    plan = make_plan(tmp_path, steps=40, workers=workers, groups=groups, learning_rate=JUMP.format(gamma=1e30))
    proc = run("singart", "run", str(plan))
    line = _error_line(proc)
    found = re.fullmatch(r"singart: error: step (\d+): (worker group 1 \(at its step \d+\): )?(loss is nan "
                         r"\(first non-finite output: layer '\w+'\)|param '\w+' holds (nan|inf) .*); (the last "
                         r"good checkpoint is step (\d+)|no good checkpoint was written)", line)
    assert found, line
    failed, good = int(found.group(1)), found.group(6)
    logged = [int(s) for s in re.findall(r"^Train @ step (\d+):", proc.stdout, re.MULTILINE)]
    assert failed == (logged[-1] + 1 if logged else 0), (line, logged)
    assert newest_complete(tmp_path / "ws" / "checkpoint") == (None if good is None else int(good))
    assert good is None or int(good) < failed
    _all_finite(tmp_path / "ws" / "checkpoint")


def test_a_resumed_checkpoint_that_overflows_is_not_called_good(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, steps=4)  # checkpoints at 0, 2 and 4
    assert run("singart", "run", str(plan)).returncode == 0
    folder = tmp_path / "ws" / "checkpoint"
    # step 4 as another run might have left it: finite params so large that the next forward overflows
    found = manifests.complete_steps(folder)[0]
    worker = next(p for p in found.files if p.name.startswith("step4-worker"))
    huge = {name: value * np.float32(1e30) for name, (value, _) in checkpoint.read(worker).items()}
    checkpoint.save(folder, 4, 0, huge, {})
    manifests.mark_done(folder, 4, found.files, found.plan)
    longer = read_plan(make_plan(tmp_path, steps=8))  # same params: it may resume step 4
    write_plan(seal(longer), tmp_path / "longer.plan")
    proc = run("singart", "run", str(tmp_path / "longer.plan"), "--resume")
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.splitlines()[-1]  # after the lines on which plan wrote step 4 and the resume
    assert re.fullmatch(r"singart: error: step 4: loss is nan .*; the last good checkpoint is step 2 \(step 4, "
                        r"which this run did not write, leads to this step\)", line), line
    assert newest_complete(folder) == 4  # not this run's to remove
