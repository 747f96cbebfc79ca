"""Rank 0's log lines and event file of a multi-process run."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TextIO

from ..events import EventWriter
from ..train import EVALS, log_line, record

# the phase a rank reports metrics under -> the log label: the lower-case label, as train.py names them
LABELS = {label.lower(): label for label in ("Train", *(label for _, _, label in EVALS.values()))}


class Printer:
    """Rank 0's output: the merged metrics of every step, printed and written to the workspace's event
    file as the single-process run prints and writes them."""

    def __init__(self, out: TextIO, workspace: str) -> None:
        self.out, self.folder = out, Path(workspace or ".") / "events"
        self.test: dict[str, float] = {}
        self.events: EventWriter | None = None
        self.lock = threading.Lock()  # the coordinator may merge two phases' metrics at once

    def __call__(self, phase: str, step: int, merged: dict[str, tuple[float, int]]) -> None:
        with self.lock:
            print(log_line(LABELS[phase], step, merged), file=self.out, flush=True)
            # opened at the first metrics: by then the rank that locks the workspace has locked it
            if self.events is None:
                self.events = EventWriter(self.folder)
            means = record(self.events, LABELS[phase], step, merged)
            if phase == "test":
                self.test = means

    def close(self) -> None:
        """Close the event file (when one was opened)."""
        if self.events is not None:
            self.events.close()
