"""The training loop's schedule and outputs: when each action is due, log lines, event files, progress."""
from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from singa_proto import event_pb2, job_pb2
from singart import events
from singart.progress import Progress
from singart.train import due, log_line


def _job(**fields: int) -> job_pb2.JobProto:
    return job_pb2.JobProto(train_steps=1000, **fields)


def test_schedule_follows_singa_worker_run() -> None:
    job = _job(checkpoint_freq=300, checkpoint_after=100)
    # the code's rule (reference 6.2: the docs' 400 and 700 omit 100)
    assert [s for s in range(1000) if due(job, "checkpoint", s)] == [100, 400, 700]
    job = _job(test_freq=60, test_steps=10)
    assert [s for s in range(130) if due(job, "test", s)] == [0, 60, 120]
    assert not any(due(_job(test_freq=60), "test", s) for s in range(130))  # test_steps 0: never
    job = _job(validate_freq=5, validate_steps=1, validate_after=3)
    assert [s for s in range(15) if due(job, "validate", s)] == [3, 8, 13]
    assert [s for s in range(25) if due(_job(disp_freq=10), "display", s)] == [0, 10, 20]
    assert not any(due(_job(), what, s) for what in ("checkpoint", "display") for s in range(50))


def test_log_line_averages_each_metric_over_its_count() -> None:
    line = log_line("Train", 30, {"loss": (6.0, 4), "accuracy": (3.0, 4)})
    assert line == "Train @ step 30: loss = 1.5, accuracy = 0.75"


def test_crc32c_and_record_framing() -> None:
    assert events.crc32c(b"123456789") == 0xE3069283  # the standard check value
    assert events.crc32c(b"") == 0
    record = events.frame(b"abc")
    (n,) = struct.unpack("<Q", record[:8])
    assert n == 3 and record[12:15] == b"abc" and len(record) == 19


def test_event_file_holds_the_scalars(tmp_path: Path) -> None:
    writer = events.EventWriter(tmp_path)
    writer.scalars(0, {"Train/loss": 2.5, "Train/accuracy": 0.25})
    writer.scalars(10, {"Test/loss": 1.5})
    writer.close()
    assert events.read_scalars(tmp_path) == [("Train/loss", 0, 2.5), ("Train/accuracy", 0, 0.25),
                                             ("Test/loss", 10, 1.5)]
    first = event_pb2.Event.FromString(events.read_records(writer.path)[0])
    assert first.file_version == "brain.Event:2"
    data = bytearray(writer.path.read_bytes())
    data[-6] ^= 0xFF
    writer.path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt record"):
        events.read_records(writer.path)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal() -> None:
    plain = io.StringIO()
    bar = Progress(0, 100, plain, interval=0)
    bar.update(50)
    bar.clear()
    assert plain.getvalue() == ""
    term = Terminal()
    bar = Progress(0, 100, term, interval=0)
    bar.update(50)
    assert "50/100" in term.getvalue() and "step/s" in term.getvalue() and "ETA" in term.getvalue()
