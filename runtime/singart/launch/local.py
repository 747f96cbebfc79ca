"""The plan's processes as child processes of this one, on this machine.

Each child runs the same command line with its rank in its environment. Their output comes through
line by line behind a `[rank R] ` prefix. The first child that fails stops the rest, and so does a
Ctrl-C or SIGTERM of the launcher. No child outlives the launcher: each runs in its own process group
(so a terminal's Ctrl-C reaches the launcher alone, which stops them in order), and on Linux the kernel
kills it when the launcher dies, even by kill -9.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import IO

from .. import SingaError
from ..transport import security
from .output import Ending, Output, copy_lines
from .rank import MASTER_ENV, SINGA

GRACE_S = 5.0  # how long a child has to end after SIGTERM before SIGKILL
POLL_S = 0.05  # how often the launcher looks for a child that ended
HELD_OFF = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


@dataclass
class Child:
    """One started rank."""

    rank: int
    proc: subprocess.Popen[bytes]


def child_env(base: Mapping[str, str], rank: int, world_size: int, master: str, token: str) -> dict[str, str]:
    """The environment of one rank: the launcher's, plus who the child is and the job's token."""
    return {**base, **own_variables(rank, world_size, master, token)}


def own_variables(rank: int, world_size: int, master: str, token: str) -> dict[str, str]:
    """What a launcher tells each rank: who it is (as rank.py reads it back) and the job's token."""
    return {SINGA.rank: str(rank), SINGA.size: str(world_size), MASTER_ENV: master, security.TOKEN_ENV: token}


def run_children(command: Sequence[str], world_size: int, master: str, *, env: Mapping[str, str] | None = None,
                 grace: float = GRACE_S, out: IO[bytes] | None = None, err: IO[bytes] | None = None) -> int:
    """Run `command` as ranks 0..world_size-1 and wait for them; 0 when every rank exits 0, else the
    first failed rank's exit code (128 + N for signal N). Call it from the main thread."""
    if world_size < 1:
        raise SingaError(f"a run needs at least one process, not {world_size}")
    base = dict(os.environ if env is None else env)
    output = Output(out, err)
    token = security.job_token(base)
    children: list[Child] = []
    readers: list[threading.Thread] = []
    try:
        # every child before any reader thread: a fork while other threads run may deadlock the child
        for rank in range(world_size):
            children.append(_start(command, rank, child_env(base, rank, world_size, master, token)))
        for child in children:
            readers += _pump_child(child, output)
        return _watch(children, output)
    finally:
        with _no_interrupts():
            _stop(children, grace)
            for reader in readers:
                reader.join(timeout=grace)  # a grandchild that escaped may hold a pipe open


def _start(command: Sequence[str], rank: int, env: dict[str, str]) -> Child:
    """Start one rank in its own process group, bound to die with this process."""
    # preexec_fn runs Python between fork and exec, which is safe only while no other thread runs:
    # run_children starts every child before its reader threads
    try:
        proc = subprocess.Popen(list(command), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, process_group=0, preexec_fn=_die_with(os.getpid()))  # noqa: PLW1509
    except OSError as err:
        raise SingaError(f"cannot start rank {rank}: {command[0]}: {err.strerror or err}") from None
    return Child(rank, proc)


def _die_with(parent: int) -> Callable[[], None]:
    """In the child before exec: ask the kernel for SIGKILL when the launcher dies, and exit at once if
    it already has (the request comes too late then)."""
    def setup() -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
    return setup


def _pump_child(child: Child, output: Output) -> list[threading.Thread]:
    """Threads that copy the child's stdout and stderr to ours, each line behind its rank."""
    pipes = {"out": child.proc.stdout, "err": child.proc.stderr}
    threads = [threading.Thread(target=copy_lines, args=(pipe, partial(output.line, child.rank, name)),
                                daemon=True) for name, pipe in pipes.items() if pipe is not None]
    for t in threads:
        t.start()
    return threads


def _watch(children: list[Child], output: Output) -> int:
    """Wait until every child has exited 0 (return 0) or the run's ending is known (name the failed
    rank, return its code)."""
    running, ending = list(children), Ending()
    while running and not ending.decided():
        for child in list(running):
            code = child.proc.poll()
            if code is not None:
                running.remove(child)
                ending.ended(child.rank, code)
        if running and not ending.decided():
            time.sleep(POLL_S)
    return ending.report(output, len(running))


def _stop(children: list[Child], grace: float) -> None:
    """SIGTERM every running child's group, SIGKILL what is left after the grace period, reap them all."""
    for child in children:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for child in children:
        _signal_group(child, signal.SIGKILL)
        child.proc.wait()


def _signal_group(child: Child, sig: int) -> None:
    """Signal the child's process group while the child is unreaped (so its id cannot name another's),
    and the child itself, should it have left that group."""
    if child.proc.poll() is None:
        try:
            os.killpg(child.proc.pid, sig)
        except ProcessLookupError:
            pass
        child.proc.send_signal(sig)


@contextmanager
def _no_interrupts() -> Iterator[None]:
    """Hold off Ctrl-C, SIGTERM and SIGHUP while the children are being stopped: a second one must not
    leave them running (the stop is bounded by the grace period)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in HELD_OFF}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
