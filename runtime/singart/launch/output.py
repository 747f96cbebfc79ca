"""What both launchers (child processes, Ray actors) print and return: every rank's lines behind
`[rank R] `, their own behind `singart: `, one whole line at a time, and the exit code of a failed rank."""
from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import IO


class Output:
    """Our stdout and stderr, shared by the threads that copy the ranks' lines; if our reader goes away
    the lines are dropped, never left to block a rank on a full pipe."""

    def __init__(self, out: IO[bytes] | None = None, err: IO[bytes] | None = None) -> None:
        self.sinks = {"out": out or sys.stdout.buffer, "err": err or sys.stderr.buffer}
        self.lock = threading.Lock()  # one line at a time, whichever rank or stream it comes from

    def line(self, rank: int, stream: str, line: bytes) -> None:
        """One line of a rank's stdout or stderr (`stream`: "out" or "err"), behind its rank."""
        self._write(stream, f"[rank {rank}] ".encode() + line + (b"" if line.endswith(b"\n") else b"\n"))

    def say(self, text: str) -> None:
        """One line of the launcher's own, on stderr between the ranks' lines."""
        self._write("err", f"singart: {text}\n".encode())

    def _write(self, stream: str, data: bytes) -> None:
        with self.lock:
            try:
                self.sinks[stream].write(data)
                self.sinks[stream].flush()
            except (OSError, ValueError):
                pass  # our reader went away: the ranks' lines are still drained


def copy_lines(pipe: IO[bytes], emit: Callable[[bytes], None]) -> None:
    """Hand on each whole line of a rank's pipe until the rank closes it (a thread's loop)."""
    for line in iter(pipe.readline, b""):
        emit(line)
    pipe.close()


def failed(output: Output, rank: int, code: int, running: int) -> int:
    """Say that `rank` ended with `code` (a negative code: killed by that signal) and that the `running`
    others are stopped; the launcher's exit code, the rank's own or 128 + N for signal N."""
    others = f"; stopping the other {running} rank(s)" if running else ""
    output.say(f"rank {rank} {ending(code)}{others}")
    return code if code > 0 else 128 - code


def ending(code: int) -> str:
    """How a rank ended, in words: `exited with code 3`, `was killed by SIGKILL`."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"
