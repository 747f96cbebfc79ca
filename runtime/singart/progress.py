"""A one-line progress bar with rate and ETA, drawn on stderr only when stderr is a terminal."""
from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


def clock(seconds: float) -> str:
    """Seconds as H:MM:SS (or M:SS)."""
    s = int(seconds)
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


class Progress:
    """Steps done out of a total; `update` redraws at most every `interval` seconds."""

    def __init__(self, start: int, total: int, stream: TextIO | None = None, interval: float = 0.2) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start, self.total, self.interval = start, total, interval
        self.t0 = self.last = time.monotonic()
        self.drawn = False

    def line(self, step: int, now: float) -> str:
        """The bar's text at `step`."""
        done = step - self.start
        frac = step / self.total if self.total else 1.0
        rate = done / (now - self.t0) if now > self.t0 else 0.0
        eta = clock((self.total - step) / rate) if rate > 0 else "?"
        bar = "#" * int(frac * WIDTH)
        return f"\r[{bar:<{WIDTH}}] {step}/{self.total} {rate:.1f} step/s ETA {eta}"

    def update(self, step: int) -> None:
        """Redraw after `step` steps, if a terminal and enough time passed."""
        now = time.monotonic()
        if self.enabled and (now - self.last >= self.interval or step >= self.total):
            self.last = now
            self.stream.write(self.line(step, now))
            self.stream.flush()
            self.drawn = True

    def clear(self) -> None:
        """Erase the bar (before a log line, and at the end)."""
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = False
