"""Checkpoints of asynchronous multi-process runs, as real processes: two worker groups, each with a
server group of its own and momentum, save each server group's updater history as its own and `--resume`
puts each back into its group; a one-process run resumes the same checkpoint with group 0's history."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import singac
from singa_spec.plans import seal, write_plan
from singart.data.convert import write_image_shard

from .run_jobs import JOB, run
from .test_resume_processes import RESUMING, step_files

GROUPS = "1 nworkers_per_procs: 1 server_worker_separate: true nserver_groups: 2 sync_freq: 2"
ONE_PROCESS = "1 nworkers_per_procs: 2"  # one process: one server group
PARAMS = ("w1", "b1", "w2", "b2", "w3", "b3")
MOMENTUM = np.float32(0.9)


def make_plan(folder: Path, steps: int, name: str, lr: str = "0.05", workers: str = GROUPS) -> Path:
    """Two worker groups with momentum, each reading the shard from its own random skip (so the groups'
    gradients, and so their histories, differ)."""
    shard = folder / "shard"
    if not shard.exists():
        rng = np.random.default_rng(5)
        write_image_shard(str(shard), rng.integers(0, 256, (32, 6, 6), dtype=np.uint8), rng.integers(0, 4, 32),
                          interval=1e9)
    text = JOB.replace("type: kSGD", "type: kSGD momentum: 0.9").replace("batchsize: 8", "batchsize: 8 random_skip: 24")
    (folder / f"{name}.pbtxt").write_text(text.format(
        steps=steps, checkpoint_freq=2, learning_rate=f"type: kFixed base_lr: {lr}", workers=workers, groups=2,
        ws=folder / "ws", shard=shard))
    path = folder / f"{name}.plan"
    write_plan(seal(singac.compile_file(str(folder / f"{name}.pbtxt"))), path)
    return path


def decayed(history: np.ndarray, updates: int) -> np.ndarray:
    """Momentum history after `updates` updates at learning rate 0: h = 0.9 h each, in float32."""
    out = history.astype(np.float32)
    for _ in range(updates):
        out = MOMENTUM * out
    return out


def saved_step4(folder: Path) -> dict[str, np.ndarray]:
    """Train the groups to step 4 (its checkpoint the last), check that it holds both groups' history."""
    first = run("singart", "run", str(make_plan(folder, 4, "first")))
    assert first.returncode == 0, first.stderr
    saved = step_files(folder / "ws", 4)
    for name in PARAMS:
        # every group's 4 updates are in: the final checkpoint waits for every group's last step
        assert saved[f"{name}/count"][0] == saved[f"group1/{name}/count"][0] == 4
    apart = max(float(np.abs(saved[f"{n}/history"] - saved[f"group1/{n}/history"]).max()) for n in PARAMS)
    assert apart > 1e-4  # the groups' histories differ: one restored into both would show
    return saved


def test_each_server_group_resumes_its_own_history(tmp_path: Path) -> None:
    saved = saved_step4(tmp_path)
    # resumed at learning rate 0, momentum only decays each group's history: two more updates of each
    # group make it exactly 0.81 times what that group saved
    done = run("singart", "run", str(make_plan(tmp_path, 6, "resumed", lr="0")), "--resume")
    assert done.returncode == 0, done.stderr
    assert RESUMING.findall(done.stderr) == ["4"], done.stderr
    assert re.findall(r"Train @ step (\d+)", done.stdout) == ["4", "5"]
    after = step_files(tmp_path / "ws", 6)
    for prefix in ("", "group1/"):
        for name in PARAMS:
            assert after[f"{prefix}{name}/count"][0] == 6
            np.testing.assert_allclose(after[f"{prefix}{name}/history"],
                                       decayed(saved[f"{prefix}{name}/history"], 2), rtol=1e-6, atol=0,
                                       err_msg=prefix + name)


def test_one_process_resumes_the_groups_checkpoint_with_group_0s_history(tmp_path: Path) -> None:
    saved = saved_step4(tmp_path)
    one = make_plan(tmp_path, 6, "one", lr="0", workers=ONE_PROCESS)
    done = run("singart", "run", str(one), "--resume")
    assert done.returncode == 0, done.stderr
    assert "resuming from step 4" in done.stderr, done.stderr
    after = step_files(tmp_path / "ws", 6)
    assert not [k for k in after if k.startswith("group")]  # one process keeps one history
    for name in PARAMS:
        # both in-process groups update the one history twice each: 4 updates on group 0's 4
        assert after[f"{name}/count"][0] == 8
        np.testing.assert_allclose(after[f"{name}/history"], decayed(saved[f"{name}/history"], 4),
                                   rtol=1e-6, atol=0, err_msg=name)
