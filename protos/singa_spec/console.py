"""What both commands (`singac`, `singart`) need at the console: their version, and ending quietly when
the reader of their output has gone (`singac show plan | head -1`), as a tool that SIGPIPE ends does."""
from __future__ import annotations

import os
import select
import sys
from importlib import metadata


def version() -> str:
    """The installed singa-py's version."""
    try:
        return metadata.version("singa-py")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has gone: poll reports an error on such a pipe, so a broken
    pipe elsewhere is not mistaken for it."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises nothing (Python's documented way
    to end quietly after a BrokenPipeError)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
