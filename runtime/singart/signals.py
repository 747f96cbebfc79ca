"""How a run ends when it is asked to.

SIGTERM (a job scheduler, `kill`, a container stop) and SIGHUP (a closed terminal) end a run as Ctrl-C
does: the handler raises `Terminated`, a KeyboardInterrupt, so every path that cleans up after Ctrl-C
(temp files of a checkpoint being written, worker threads, the workspace) cleans up after them too.
"""
from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """A SIGTERM or SIGHUP arrived; the command exits 128 + signum."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    # one is enough: a second signal must not cut short the cleanup the first one started
    for sig in HANDLED:
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


@contextmanager
def terminate_like_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Terminated` in the main thread."""
    previous = {sig: signal.signal(sig, _raise_terminated) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
