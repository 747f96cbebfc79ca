"""What both launchers (child processes, Ray actors) print and return: every rank's lines behind
`[rank R] `, their own behind `singart: `, one whole line at a time, and which failed rank's exit code
is the run's."""
from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import IO

EXIT_STOPPED = 3  # a rank that was fine: another one failed or was lost, and the job stopped
# after a rank stopped, how long the launcher waits for the rank whose own error stopped the job (it
# serves the others a while before it exits, so that they hear why)
STOPPED_WAIT_S = 10.0


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


class Ending:
    """How a run ends, from its ranks' exit codes as they come: the first rank that failed with its own
    error, else (when none has within STOPPED_WAIT_S of the first) the first that stopped because of
    another's (EXIT_STOPPED), so the run's exit code and line name the cause, not a consequence."""

    def __init__(self, wait: float = STOPPED_WAIT_S) -> None:
        self.wait, self.deadline = wait, float("inf")
        self.own: tuple[int, int] | None = None  # (rank, code)
        self.stopped: tuple[int, int] | None = None

    def ended(self, rank: int, code: int) -> None:
        """Rank `rank` exited with `code` (negative: killed by that signal)."""
        if code == EXIT_STOPPED and self.stopped is None:
            self.stopped, self.deadline = (rank, code), time.monotonic() + self.wait
        elif code not in (0, EXIT_STOPPED) and self.own is None:
            self.own = (rank, code)

    def decided(self) -> bool:
        """Whether a failure is known and no better one is worth waiting for."""
        return self.own is not None or time.monotonic() >= self.deadline

    def report(self, output: Output, running: int) -> int:
        """Name the failed rank (if any) and return the launcher's exit code (0: every rank was done)."""
        found = self.own or self.stopped
        return 0 if found is None else failed(output, *found, running)


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
