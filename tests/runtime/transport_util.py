"""The peer process of the transport tests: start it, read its address, stop it."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PEER = Path(__file__).with_name("transport_peer.py")
TOKEN = "test-token-0123456789abcdef"


@contextmanager
def peer(*tls_files: Path, token: str = TOKEN) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A peer process serving every service with `token`; yields it and its HOST:PORT."""
    env = {**os.environ, "SINGA_JOB_TOKEN": token}
    proc = subprocess.Popen([sys.executable, str(PEER), *map(str, tls_files)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line
        yield proc, line.split()[-1]
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=30)


def memfds(pid: int) -> list[str]:
    """The tensor segments a process holds open or mapped."""
    fds = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            fds.append(os.readlink(fd))
        except OSError:
            pass
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return [x for x in fds + maps if "memfd:singa-tensor" in x]
