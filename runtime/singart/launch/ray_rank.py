"""One rank on its host, inside the Ray actor pinned there: the plan written to a temp file (hosts need not
share a filesystem), the rank's command as a child process, and its output lines queued for the launcher.

This module never imports Ray: Ray wraps `RankProcess` as an actor class, and the class works (and is
tested) as a plain object too.
"""
from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from functools import partial

from ..transport.server import family
from .local import Child, _stop
from .output import copy_lines

PLAN = "{plan}"  # in a command: the path of the plan file on the rank's host
PYTHON = "{python}"  # in a command: the Python that runs the actor there (the host's singart install)
# Not inherited by the rank: Ray forces OMP_NUM_THREADS=1 on its actors (the rank's kernels would run on
# one thread), and Ray's own credentials are no business of the rank's.
NOT_INHERITED = ("OMP_NUM_THREADS", "RAY_AUTH_TOKEN")
# The rank as a child bound to die with the actor (SIGKILL when the actor dies, even by kill -9), set in
# a small exec wrapper: a preexec_fn is unsafe in the actor, whose process runs many threads.
DIE_WITH_PARENT = ("import ctypes, os, signal, sys\n"
                   "libc = ctypes.CDLL(None)\n"
                   "if hasattr(libc, 'prctl'):\n"
                   "    libc.prctl(1, signal.SIGKILL, 0, 0, 0)\n"  # PR_SET_PDEATHSIG
                   "if os.getppid() != int(sys.argv[1]):\n"
                   "    os._exit(1)\n"  # the actor died before the request took effect
                   "os.execvp(sys.argv[2], sys.argv[2:])\n")

Line = tuple[str, bytes]  # ("out" or "err", one line)


class RankProcess:
    """One rank's child process on this host; every method returns quickly except `read`, which waits a
    little for lines (so the launcher's polls are not a busy loop)."""

    def __init__(self, rank: int, plan: bytes) -> None:
        self.rank = rank
        self.dir = tempfile.mkdtemp(prefix=f"singa-rank{rank}-")
        self.plan = os.path.join(self.dir, "plan.bin")
        with open(self.plan, "wb") as f:
            f.write(plan)
        self.lines: queue.Queue[Line] = queue.Queue()
        self.child: Child | None = None
        self.readers: list[threading.Thread] = []

    def free_port(self, host: str) -> int:
        """A port free on this host's address now, for the job's rendezvous (rank 0's host)."""
        with socket.socket(family(host), socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            return int(s.getsockname()[1])

    def start(self, command: Sequence[str], env: Mapping[str, str]) -> None:
        """Start the rank: `command` with its placeholders filled in, in this host's environment plus
        `env`, in a process group of its own (so a stop reaches whatever it started)."""
        argv = [self.plan if a == PLAN else sys.executable if a == PYTHON else a for a in command]
        full = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED} | dict(env)
        wrapped = [sys.executable, "-c", DIE_WITH_PARENT, str(os.getpid()), *argv]
        proc = subprocess.Popen(wrapped, env=full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, process_group=0, cwd=self.dir)
        self.child = Child(self.rank, proc)
        for name, pipe in (("out", proc.stdout), ("err", proc.stderr)):
            t = threading.Thread(target=copy_lines, args=(pipe, partial(self._queue, name)), daemon=True)
            t.start()
            self.readers.append(t)

    def _queue(self, name: str, line: bytes) -> None:
        """Queue a line of the child's stream `name` for the launcher."""
        self.lines.put((name, line if line.endswith(b"\n") else line + b"\n"))

    def read(self, wait_s: float = 0.5) -> tuple[list[Line], int | None]:
        """The lines queued so far (waiting up to wait_s for a first one), and the exit code once the
        child has ended and every line of it is in the list (None before)."""
        got = []
        try:
            got.append(self.lines.get(timeout=wait_s))
        except queue.Empty:
            pass
        return got + self._drain(), self._code()

    def _drain(self) -> list[Line]:
        """Every line queued now, without waiting."""
        got = []
        while True:
            try:
                got.append(self.lines.get_nowait())
            except queue.Empty:
                return got

    def _code(self) -> int | None:
        """The exit code once the child has exited and its pipes are read to the end (readers done)."""
        if self.child is None or self.child.proc.poll() is None or any(t.is_alive() for t in self.readers):
            return None
        return self.child.proc.returncode if self.lines.empty() else None

    def stop(self, grace: float) -> list[Line]:
        """Stop the child (SIGTERM to its group, SIGKILL after the grace period), remove the plan's temp
        folder, and return the lines it left."""
        if self.child is not None:
            _stop([self.child], grace)
        for t in self.readers:
            t.join(timeout=grace)  # a grandchild that escaped may hold a pipe open
        shutil.rmtree(self.dir, ignore_errors=True)
        return self._drain()
