"""An exception at any point of a crash-safe write (a signal's handler raising between two lines of
Python, in the write or in the library code it calls) leaves no temp file, and the old or the new file."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from singa_spec.files import TEMP_PREFIX, write_atomic


class Interrupt(KeyboardInterrupt):
    """Raised by the tracer at the chosen line."""


def traced(call: Callable[[], None], stop_at: int | None) -> int:
    """Run `call`, raising Interrupt at its `stop_at`-th line event (counting into every function it
    calls); returns how many line events it ran."""
    seen = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal seen
        if event == "line":
            if seen == stop_at:
                raise Interrupt
            seen += 1
        return tracer

    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(None)
    return seen


def test_an_interrupt_at_every_line_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "step4-worker0"
    lines = traced(lambda: write_atomic(target, b"new"), None)
    assert lines > 10
    for i in range(lines):
        target.write_bytes(b"old")
        with pytest.raises(Interrupt):
            traced(lambda: write_atomic(target, b"new"), i)
        assert not list(tmp_path.glob(TEMP_PREFIX + "*")), f"line event {i}"
        assert target.read_bytes() in (b"old", b"new")
