"""Checkpoint steps across runs: pruned to the newest few, checked against their checksums (a damaged
step is passed over), and told apart by the plan that wrote them."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import singac
from singa_spec.plans import seal, write_plan
from singart import SingaError, checkpoint, manifests
from singart.train import run_plan

from .test_checkpoint_resume import JOB, _hash, _params, _run, _shard


def _names(ws: Path) -> list[str]:
    return sorted(p.name for p in (ws / "checkpoint").iterdir())


def test_only_the_newest_steps_are_kept(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "checkpoint").mkdir(parents=True)
    (ws / "checkpoint" / "step1-notes.txt").write_text("not ours: never removed")
    _run(tmp_path, str(ws), steps=10, freq=2)  # steps 0, 2, ..., 10; the job's default keeps 3
    assert _names(ws) == ["step1-notes.txt", *(f"step{s}-{f}" for s in (10, 6, 8)
                                               for f in ("done", "updater", "worker0"))]
    _run(tmp_path, str(tmp_path / "all"), steps=10, freq=2, extra="checkpoint_keep: 0")
    assert len(list((tmp_path / "all" / "checkpoint").glob("step*-done"))) == 6
    _run(tmp_path, str(tmp_path / "one"), steps=10, freq=2, keep=1)  # the flag's value wins
    assert [p.name for p in (tmp_path / "one" / "checkpoint").glob("step*-done")] == ["step10-done"]


def test_a_damaged_newest_step_falls_back_to_the_previous_one(tmp_path: Path) -> None:
    straight = _run(tmp_path, str(tmp_path / "a"), steps=6)
    ws = tmp_path / "b"
    _run(tmp_path, str(ws), steps=4, freq=2)  # steps 0, 2, 4
    damaged = ws / "checkpoint" / "step4-worker0"
    data = bytearray(damaged.read_bytes())
    data[-3] ^= 0x01  # one flipped bit in a float: still a valid BlobProtos, wrong values
    damaged.write_bytes(bytes(data))
    err = io.StringIO()
    resumed = _run(tmp_path, str(ws), steps=6, freq=2, resume=True, err=err)
    assert "singart: checkpoint step 4 is damaged (step4-worker0 does not match its SHA-256 in step4-done); " \
           "passing over it" in err.getvalue().splitlines()
    assert f"singart: resuming from step 2 ({ws / 'checkpoint'})" in err.getvalue().splitlines()
    assert resumed == "".join(straight.splitlines(keepends=True)[2:])
    a, b = _params(str(tmp_path / "a"), 6), _params(str(ws), 6)
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-6, atol=1e-7)


def test_older_manifests_resume_as_an_unknown_plan(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _run(tmp_path, str(ws), steps=2, freq=2)  # steps 0 and 2
    for done in (ws / "checkpoint").glob("step*-done"):  # as singart wrote them before: names only
        names = [e["name"] for e in json.loads(done.read_text())["files"]]
        done.write_text("".join(n + "\n" for n in names))
    with pytest.raises(SingaError, match="checkpoints of an unknown plan .* up to step 2"):
        _run(tmp_path, str(ws), steps=4, freq=2)
    err = io.StringIO()
    _run(tmp_path, str(ws), steps=4, freq=2, resume=True, err=err)
    assert "singart: checkpoint step 2 was written by an unknown plan (an older manifest), this is plan " \
           f"{_hash(tmp_path, ws, 4, 2)}; their params match by name" in err.getvalue()
    assert manifests.latest(ws / "checkpoint")[0] == 4


def test_resume_with_another_net_is_refused_naming_both_plans(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _run(tmp_path, str(ws), steps=2, freq=2)
    wider = JOB.replace("num_output: 6", "num_output: 7")
    src = tmp_path / "wider.pbtxt"
    src.write_text(wider.format(steps=4, freq=2, ws=ws, shard=_shard(tmp_path), extra=""))
    plan = seal(singac.compile_file(str(src)))
    with pytest.raises(SingaError, match=f"this is plan {plan.content_hash[:12]}, and their params differ \\(b1, w1, w2\\)"):
        run_plan(plan, resume=True, out=io.StringIO(), err=io.StringIO())
    renamed = JOB.replace('name: "w2"', 'name: "w2b"')
    src.write_text(renamed.format(steps=4, freq=2, ws=ws, shard=_shard(tmp_path), extra=""))
    plan = seal(singac.compile_file(str(src)))
    with pytest.raises(SingaError, match=f"step 2 was written by plan {_hash(tmp_path, ws, 2, 2)}, this is plan "
                                         f"{plan.content_hash[:12]}, and their params differ \\(w2, w2b\\)"):
        run_plan(plan, resume=True, out=io.StringIO(), err=io.StringIO())
    assert manifests.latest(ws / "checkpoint")[0] == 2  # nothing was written


# Where a process saving step 4 (keeping one step, so step 2 is pruned) is killed: while writing the
# step's files, once its manifest is written but before pruning, and halfway through removing step 2.
KILL_POINTS = {
    "files": ("checkpoint.write_atomic", "lambda path, data: path.name == 'step4-updater'", 2),
    "manifest": ("checkpoint.prune", "lambda folder, newest, keep: newest == 4", 4),
    "pruning": ("manifests.Path.unlink", "lambda path, **kw: path.name == 'step2-updater'", 4),
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_run_killed_anywhere_in_a_save_resumes_from_a_good_step(tmp_path: Path, point: str) -> None:
    straight = _run(tmp_path, str(tmp_path / "a"), steps=6)
    ws = tmp_path / "b"
    src = tmp_path / "job.pbtxt"
    src.write_text(JOB.format(steps=4, freq=2, ws=ws, shard=_shard(tmp_path), extra="checkpoint_keep: 1"))
    plan = tmp_path / "job.plan"
    write_plan(seal(singac.compile_file(str(src))), plan)
    target, when, expected = KILL_POINTS[point]
    owner, name = target.rsplit(".", 1)
    script = textwrap.dedent(f"""
        import io, os, signal
        from singart import checkpoint, manifests
        from singa_spec.plans import read_plan
        from singart.train import run_plan
        original, when = {owner}.{name}, {when}
        def dying(*args, **kw):
            if when(*args, **kw):
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kw)
        {owner}.{name} = dying
        run_plan(read_plan({str(plan)!r}), out=io.StringIO(), err=io.StringIO())
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    newest = manifests.complete_steps(ws / "checkpoint")[0]
    assert newest.step == expected
    checkpoint.read_step(newest)  # every file matches its checksum
    out = _run(tmp_path, str(ws), steps=6, resume=True, extra="checkpoint_keep: 1")
    assert out == "".join(straight.splitlines(keepends=True)[expected:])
    a, b = _params(str(tmp_path / "a"), 6), _params(str(ws), 6)
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-6, atol=1e-7)


def test_a_new_run_removes_the_partial_files_a_killed_one_left(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    for folder in ("checkpoint", "events"):
        (ws / folder).mkdir(parents=True)
        (ws / folder / ".partial-step8-worker0.k2j4h1").write_bytes(b"half a file")
    (ws / "checkpoint" / "partial-notes.txt").write_text("the user's")
    _run(tmp_path, str(ws), steps=1)
    assert not list(ws.glob("*/.partial-*"))
    assert _names(ws) == ["partial-notes.txt", "step1-done", "step1-updater", "step1-worker0"]


def test_resuming_past_train_steps_keeps_the_step_it_resumed(tmp_path: Path) -> None:
    # a shorter train_steps than the checkpoint's step: nothing is left to train, and the step resumed
    # must stay as it is (it was saved again as step 4, holding step 6's params, and step 6 pruned)
    ws = tmp_path / "ws"
    _run(tmp_path, str(ws), steps=6, freq=2)  # steps 0, 2, 4, 6
    before = _names(ws)
    err = io.StringIO()
    _run(tmp_path, str(ws), steps=4, freq=2, resume=True, err=err)
    assert _names(ws) == before
    assert manifests.latest(ws / "checkpoint")[0] == 6
    assert "singart: done: 0 steps (from step 6)" in err.getvalue()


def test_starting_over_keeps_the_finished_run_until_this_one_writes_its_own(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _run(tmp_path, str(ws), steps=4, freq=2, extra="checkpoint_keep: 1")  # a finished run: step 4 kept
    finished = _params(str(ws), 4)
    # the same plan again, without --resume or --overwrite: it starts over; killed right after it has
    # saved (and pruned at) step 2, the finished run's step 4 must still be there, whole
    src = tmp_path / "job.pbtxt"
    plan = tmp_path / "job.plan"
    write_plan(seal(singac.compile_file(str(src))), plan)
    script = textwrap.dedent(f"""
        import io, os, signal
        from singart import checkpoint
        from singa_spec.plans import read_plan
        from singart.train import run_plan
        original = checkpoint.prune
        def dying(folder, newest, keep):
            original(folder, newest, keep)
            if newest == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        checkpoint.prune = dying
        run_plan(read_plan({str(plan)!r}), out=io.StringIO(), err=io.StringIO())
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    assert [m.step for m in manifests.complete_steps(ws / "checkpoint")] == [4, 2]
    for name, value in _params(str(ws), 4).items():
        np.testing.assert_array_equal(value, finished[name])


def test_folders_named_like_steps_are_left_alone(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    for name in ("step9-worker0", "step1-done", ".partial-step2-worker0.abc"):
        (ws / "checkpoint" / name).mkdir(parents=True)
    _run(tmp_path, str(ws), steps=4, freq=2, extra="checkpoint_keep: 1")  # saves, prunes, cleans temp files
    names = _names(ws)
    assert {"step9-worker0", "step1-done", ".partial-step2-worker0.abc"} <= set(names)
    assert [m.step for m in manifests.complete_steps(ws / "checkpoint")] == [4]
