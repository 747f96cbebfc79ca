"""`singart run --resume` of a 3-process Sandblaster plan with momentum SGD, as real processes: the
checkpoints hold the servers' history under the one-process run's names, and a run stopped (or killed
with SIGKILL) and resumed ends with the same params as an uninterrupted one."""
from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import singac
from singa_spec.plans import seal, write_plan
from singart import checkpoint, manifests
from singart.data.convert import write_image_shard

from .run_jobs import JOB, command, run

SANDBLASTER = "2 nworkers_per_procs: 1 server_worker_separate: true"
RESUMING = re.compile(r"^\[rank \d\] singart: resuming from step (\d+) ", re.MULTILINE)


def make_plan(folder: Path, steps: int, freq: int = 2, workers: str = SANDBLASTER, name: str = "job") -> Path:
    """The test job with momentum, over a shard of exactly one batch: every step reads the same records
    whatever step a run starts from, so a resumed run must retrace an uninterrupted one."""
    folder.mkdir(parents=True, exist_ok=True)
    shard = folder.parent / "shard"
    if not shard.exists():
        rng = np.random.default_rng(4)
        write_image_shard(str(shard), rng.integers(0, 256, (8, 6, 6), dtype=np.uint8), rng.integers(0, 4, 8),
                          interval=1e9)
    text = JOB.replace("type: kSGD", "type: kSGD momentum: 0.9").format(
        steps=steps, checkpoint_freq=freq, learning_rate="type: kFixed base_lr: 0.05", workers=workers,
        groups=1, ws=folder / "ws", shard=shard)
    (folder / f"{name}.pbtxt").write_text(text)
    path = folder / f"{name}.plan"
    write_plan(seal(singac.compile_file(str(folder / f"{name}.pbtxt"))), path)
    return path


def step_files(ws: Path, step: int) -> dict[str, np.ndarray]:
    """Every array of a checkpoint step (params and history), by name."""
    found = next(m for m in manifests.complete_steps(ws / "checkpoint") if m.step == step)
    return {k: v for path in found.files for k, (v, _) in checkpoint.read(path).items()}


def assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert got.keys() == want.keys()
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-7, err_msg=name)


def straight_run(tmp_path: Path, steps: int) -> dict[str, np.ndarray]:
    plan = make_plan(tmp_path / "straight", steps)
    done = run("singart", "run", str(plan))
    assert done.returncode == 0, done.stderr
    return step_files(tmp_path / "straight" / "ws", steps)


def test_checkpoints_hold_the_servers_history_as_one_process_names_it(tmp_path: Path) -> None:
    multi = step_files(tmp_path / "multi" / "ws", 4) if run(
        "singart", "run", str(make_plan(tmp_path / "multi", 4))).returncode == 0 else {}
    one = make_plan(tmp_path / "one", 4, workers="2 nworkers_per_procs: 2")
    assert run("singart", "run", str(one)).returncode == 0
    want = step_files(tmp_path / "one" / "ws", 4)
    assert {"w1/history", "w1/count", "b3/history"} <= want.keys()
    assert_same(multi, want)


def test_a_stopped_run_resumes_to_the_uninterrupted_params(tmp_path: Path) -> None:
    want = straight_run(tmp_path, 8)
    plan = make_plan(tmp_path / "stopped", 8)
    # the same job to step 5, then the plan of 8 steps resumes it (another plan with the same params)
    first = run("singart", "run", str(make_plan(tmp_path / "stopped", 5, name="first")))
    assert first.returncode == 0, first.stderr
    done = run("singart", "run", str(plan), "--resume")
    assert done.returncode == 0, done.stderr
    assert RESUMING.findall(done.stderr) == ["5"], done.stderr
    steps = re.findall(r"Train @ step (\d+)", done.stdout)
    assert steps == ["5", "6", "7"]
    assert "(from step 5)" in done.stderr and "Traceback" not in done.stderr
    assert_same(step_files(tmp_path / "stopped" / "ws", 8), want)


def wait_unlocked(ws: Path) -> None:
    """Wait until no process holds the workspace (a killed launcher's ranks die with it, a moment later)."""
    fd = os.open(ws / ".lock", os.O_RDWR)
    try:
        for _ in range(200):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(0.05)
                continue
            fcntl.flock(fd, fcntl.LOCK_UN)
            return
        raise AssertionError(f"{ws} stayed locked after its run was killed")
    finally:
        os.close(fd)


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_params(tmp_path: Path) -> None:
    steps = 60
    want = straight_run(tmp_path, steps)
    plan = make_plan(tmp_path / "killed", steps, freq=3)
    launcher = subprocess.Popen(command("singart", "run", str(plan)), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        assert launcher.stdout is not None
        for line in launcher.stdout:
            if "Train @ step 7:" in line:
                break
        os.killpg(launcher.pid, signal.SIGKILL)  # the launcher's whole group; its ranks die with it
    finally:
        launcher.wait()
    assert launcher.returncode == -signal.SIGKILL
    wait_unlocked(tmp_path / "killed" / "ws")
    done = run("singart", "run", str(plan), "--resume")
    assert done.returncode == 0, done.stderr
    (resumed,) = RESUMING.findall(done.stderr)
    assert 6 <= int(resumed) < steps and int(resumed) % 3 == 0
    first = re.search(r"Train @ step (\d+)", done.stdout)
    assert first is not None and first.group(1) == resumed
    assert_same(step_files(tmp_path / "killed" / "ws", steps), want)


def test_a_checkpoint_without_history_resumes_with_a_note(tmp_path: Path) -> None:
    folder = tmp_path / "older"
    first = run("singart", "run", str(make_plan(folder, 4, name="first")))
    assert first.returncode == 0, first.stderr
    # step 4 as runs wrote it before the servers' history was gathered: an updater file with nothing in it
    ckpt = folder / "ws" / "checkpoint"
    files = manifests.complete_steps(ckpt)[0].files
    (ckpt / "step4-updater").write_bytes(b"")
    manifests.mark_done(ckpt, 4, files)
    done = run("singart", "run", str(make_plan(folder, 6)), "--resume")
    assert done.returncode == 0, done.stderr
    assert RESUMING.findall(done.stderr) == ["4"]
    notes = [line for line in done.stderr.splitlines() if "no updater history" in line]
    assert notes == [("[rank 0] singart: note: checkpoint step 4 holds no updater history of b1, b2, b3, w1, "
                      "w2, w3 (written without it); it starts from zero, so this run may end apart from an "
                      "uninterrupted one")], done.stderr
