"""Event files of multi-process runs: rank 0 writes the merged metrics as the one-process run writes
its own (same tags and steps; the same values for a synchronous plan)."""
from __future__ import annotations

from pathlib import Path

import pytest
from singart.events import read_scalars

from .run_jobs import FIELDS, JOB, make_plan, run
from .test_run_processes import ONE_PROCESS, SANDBLASTER

EVALS = "disp_freq: 1\ntest_steps: 2\ntest_freq: 3\nvalidate_steps: 1\nvalidate_freq: 2"


def plan_of(folder: Path, workers: str, steps: int) -> Path:
    """The run tests' job with a test and a validation net, `workers` placing its workers."""
    folder.mkdir()
    make_plan(folder, steps=steps)  # writes the shard
    src = folder / "job.pbtxt"
    text = JOB.format(**{**FIELDS, "steps": steps, "workers": workers}, ws=folder / "ws", shard=folder / "shard")
    src.write_text(text.replace("disp_freq: 1", EVALS, 1))
    done = run("singac", "compile", str(src), "-o", str(folder / "job.plan"))
    assert done.returncode == 0, done.stderr
    return folder / "job.plan"


def scalars(folder: Path, workers: str, steps: int) -> list[tuple[str, int, float]]:
    """The (tag, step, value) records of the run's one event file."""
    done = run("singart", "run", str(plan_of(folder, workers, steps)))
    assert done.returncode == 0, done.stderr
    assert len(list((folder / "ws" / "events").glob("events.out.tfevents.*"))) == 1
    return read_scalars(folder / "ws" / "events")


def test_sandblaster_processes_write_the_one_process_event_file(tmp_path: Path) -> None:
    want = scalars(tmp_path / "one", ONE_PROCESS, 6)
    got = scalars(tmp_path / "multi", SANDBLASTER, 6)
    tags = {tag for tag, _, _ in want}
    assert {"Train/loss", "Train/accuracy", "Test/loss", "Validation/loss"} <= tags, tags
    assert [(tag, step) for tag, step, _ in got] == [(tag, step) for tag, step, _ in want]
    assert [v for *_, v in got] == pytest.approx([v for *_, v in want], rel=1e-5, abs=1e-6)
