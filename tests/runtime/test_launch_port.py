"""The local launcher's port race, as real processes: another process holds the port picked for rank 0
before rank 0 listens on it. Rank 0 says so and exits 75; the launcher starts the job again on a fresh
port, and the job trains to its end."""
from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from singart.distributed.launcher import EXIT_PORT_TAKEN, free_port, run_local

from .run_jobs import command, make_plan

ALLREDUCE = "2 nworkers_per_procs: 1"


@contextmanager
def held_port() -> Iterator[int]:
    """A loopback port another process's listener holds (here: this test's)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def taken_first(port: int) -> Callable[[], int]:
    """A port picker whose first pick is `port` (taken by then), then free ones."""
    picks = iter([port])
    return lambda: next(picks, None) or free_port()


def launch(tmp_path: Path, pick: Callable[[], int], tries: int) -> tuple[int, str, str]:
    """`singart run` of a two-process plan as child processes; its exit code, stdout and stderr."""
    plan = make_plan(tmp_path, workers=ALLREDUCE, steps=2)
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as o, err.open("wb") as e:
        code = run_local(command("singart", "run", str(plan)), 2, pick, tries, out=o, err=e)
    return code, out.read_text(), err.read_text()


def test_a_taken_port_is_retried_on_a_fresh_one(tmp_path: Path) -> None:
    with held_port() as port:
        code, out, err = launch(tmp_path, taken_first(port), tries=3)
    assert code == 0, err
    assert err.count(f"[rank 0] singart: error: cannot listen on 127.0.0.1:{port}: the port is taken") == 1, err
    retries = [line for line in err.splitlines() if "starting again on another" in line]
    want = f"singart: port 127.0.0.1:{port} was taken before rank 0 listened on it; starting again on another"
    assert retries == [f"{want} (try 2 of 3)"]
    assert out.count("Train @") == 2 and "singart: done: 2 steps" in err


def test_without_a_retry_a_taken_port_ends_the_run_with_75(tmp_path: Path) -> None:
    with held_port() as port:
        code, out, err = launch(tmp_path, taken_first(port), tries=1)
    assert code == EXIT_PORT_TAKEN, err
    assert f"cannot listen on 127.0.0.1:{port}: the port is taken by another process" in err
    assert "starting again" not in err and "Train @" not in out
