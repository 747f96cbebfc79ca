"""A job's `checkpoint_path` (start from another job's checkpoint) in a multi-process run, as real
processes: worker and server ranks start from the loaded values, so a Sandblaster run prints the loss
lines of the one-process run of the same job and checkpoint."""
from __future__ import annotations

from pathlib import Path

import singac
from singa_spec.plans import seal, write_plan

from .run_jobs import FIELDS, JOB, make_plan, run
from .test_run_processes import ONE_PROCESS, SANDBLASTER, loss_lines


def warm_plan(folder: Path, name: str, workers: str, checkpoint: Path | None) -> Path:
    """The test job `name` over `folder`'s shard, started from `checkpoint` when given."""
    src = folder / f"{name}.pbtxt"
    text = JOB.format(**{**FIELDS, "steps": 4, "workers": workers}, ws=folder / f"ws-{name}",
                      shard=folder / "shard")
    if checkpoint is not None:
        text = f'checkpoint_path: "{checkpoint}"\n' + text
    src.write_text(text)
    path = folder / f"{name}.plan"
    write_plan(seal(singac.compile_file(str(src))), path)
    return path


def test_a_multi_process_run_starts_from_checkpoint_path_as_one_process_does(tmp_path: Path) -> None:
    earlier = run("singart", "run", str(make_plan(tmp_path, steps=6)))  # another job's checkpoint
    assert earlier.returncode == 0, earlier.stderr
    checkpoint = tmp_path / "ws" / "checkpoint" / "step6-worker0"
    multi = run("singart", "run", str(warm_plan(tmp_path, "multi", SANDBLASTER, checkpoint)))
    assert multi.returncode == 0, multi.stderr
    one = run("singart", "run", str(warm_plan(tmp_path, "one", ONE_PROCESS, checkpoint)))
    assert one.returncode == 0, one.stderr
    cold = run("singart", "run", str(warm_plan(tmp_path, "cold", ONE_PROCESS, None)))
    assert cold.returncode == 0, cold.stderr
    assert len(loss_lines(one.stdout)) == 4
    assert loss_lines(multi.stdout) == loss_lines(one.stdout)
    assert loss_lines(cold.stdout)[0] != loss_lines(one.stdout)[0]  # the checkpoint's values were used


def test_a_missing_checkpoint_path_file_is_exit_2_from_the_rank_that_found_it(tmp_path: Path) -> None:
    make_plan(tmp_path)  # the shard
    missing = tmp_path / "nowhere" / "step6-worker0"
    done = run("singart", "run", str(warm_plan(tmp_path, "multi", SANDBLASTER, missing)))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    own = [line for line in done.stderr.splitlines() if line.endswith(f"singart: error: {missing}: cannot "
                                                                      "read checkpoint: No such file or directory")]
    assert own == [f"[rank 0] singart: error: {missing}: cannot read checkpoint: No such file or directory"]
    # the others may have stopped first (exit 3) or still be running, to be stopped now
    assert done.stderr.splitlines()[-1] in ("singart: rank 0 exited with code 2",
                                            "singart: rank 0 exited with code 2; stopping the other 1 rank(s)")
