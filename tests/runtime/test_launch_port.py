"""The local launcher's port race, as real processes: another process holds the port picked for rank 0
before rank 0 listens on it. Rank 0 says so and exits 75; the launcher starts the job again on a fresh
port, and the job trains to its end."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from singart.distributed.launcher import EXIT_PORT_TAKEN

from .run_jobs import command, make_plan

ALLREDUCE = "2 nworkers_per_procs: 1"
# the launcher in a process of its own, its first pick a port this process listens on (printed first)
LAUNCHER = """import socket, sys
from singart.distributed.launcher import free_port, run_local
tries, argv = int(sys.argv[1]), sys.argv[2:]
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    s.listen()
    picks = iter([s.getsockname()[1]])
    print(s.getsockname()[1], flush=True)
    sys.exit(run_local(argv, 2, lambda: next(picks, None) or free_port(), tries))
"""


def launch(tmp_path: Path, tries: int) -> tuple[int, int, str, str]:
    """`singart run` of a two-process plan as child processes, its first port taken; the exit code, the
    taken port, stdout and stderr."""
    plan = make_plan(tmp_path, workers=ALLREDUCE, steps=2)
    done = subprocess.run([sys.executable, "-c", LAUNCHER, str(tries), *command("singart", "run", str(plan))],
                          capture_output=True, text=True, timeout=300, check=False)
    port, _, out = done.stdout.partition("\n")
    return done.returncode, int(port), out, done.stderr


def test_a_taken_port_is_retried_on_a_fresh_one(tmp_path: Path) -> None:
    code, port, out, err = launch(tmp_path, tries=3)
    assert code == 0, err
    assert err.count(f"[rank 0] singart: error: cannot listen on 127.0.0.1:{port}: the port is taken") == 1, err
    retries = [line for line in err.splitlines() if "starting again on another" in line]
    want = f"singart: port 127.0.0.1:{port} was taken before rank 0 listened on it; starting again on another"
    assert retries == [f"{want} (try 2 of 3)"]
    assert out.count("Train @") == 2 and "singart: done: 2 steps" in err


def test_without_a_retry_a_taken_port_ends_the_run_with_75(tmp_path: Path) -> None:
    code, port, out, err = launch(tmp_path, tries=1)
    assert code == EXIT_PORT_TAKEN, err
    assert f"cannot listen on 127.0.0.1:{port}: the port is taken by another process" in err
    assert "starting again" not in err and "Train @" not in out
