"""Child processes on this machine, as real processes: `python -m singart.launch` runs small Python
programs as ranks that print, sleep, fail, ignore SIGTERM or get killed, and the tests watch the
launcher's output, exit code and the children's pids."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .run_jobs import reap

LAUNCH = [sys.executable, "-m", "singart.launch"]
# a rank that says its pid, then sleeps; `{extra}` runs first
SLEEPER = ("import os, signal, sys, time\n{extra}\nprint('pid', os.getpid(), flush=True)\n"
           "{after}\ntime.sleep(600)")
STARTED: list[subprocess.Popen[str]] = []  # every launcher a test started, for the clean-up
IGNORE_TERM = "signal.signal(signal.SIGTERM, signal.SIG_IGN)"


def launch(n: int, program: str, *flags: str, env: dict[str, str] | None = None,
           new_group: bool = False) -> subprocess.Popen[str]:
    """The launcher running `program` as n ranks (in a process group of its own with new_group)."""
    proc = subprocess.Popen([*LAUNCH, "-n", str(n), "--grace", "1", *flags, "--", sys.executable, "-c", program],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            process_group=0 if new_group else None)
    STARTED.append(proc)
    return proc


@pytest.fixture(autouse=True)
def _kill_leftovers() -> Iterator[None]:
    """A failing test must not leave a launcher running: killing it ends its ranks too."""
    yield
    reap(STARTED)


def read_pids(proc: subprocess.Popen[str], n: int) -> dict[int, int]:
    """rank -> pid, from the first n `pid` lines the ranks print."""
    assert proc.stdout is not None
    pids: dict[int, int] = {}
    while len(pids) < n:
        line = proc.stdout.readline()
        assert line, "the launcher ended before every rank said its pid"
        m = re.fullmatch(r"\[rank (\d+)\] pid (\d+)\n", line)
        if m:
            pids[int(m.group(1))] = int(m.group(2))
    return pids


def gone(pid: int) -> bool:
    """Whether the process has ended (a zombie waiting for its new parent to reap it has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def wait_gone(pids: list[int], bound_s: float = 60.0) -> list[int]:
    """The pids still alive after waiting up to the bound for them all to end."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline and not all(gone(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if not gone(p)]


def test_each_line_behind_its_rank_and_never_cut(tmp_path: Path) -> None:
    # long lines from three ranks at once on both streams; the last line has no newline
    program = ("import os, sys\nr = os.environ['SINGA_RANK']\n"
               "for i in range(300):\n    print(r, i, r * 5000)\n    print('e' + r, i, file=sys.stderr)\n"
               "sys.stdout.write('tail ' + r)")
    proc = launch(3, program)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 3 * 301
    for line in lines:
        m = re.fullmatch(r"\[rank (\d)\] (?:(\d) \d+ (\d+)|tail (\d))", line)
        assert m, line[:80]
        rank = m.group(1)
        assert {m.group(2) or m.group(4)} == {rank} and m.group(3) in (None, rank * 5000)
    assert sorted(e for e in err.splitlines()) == sorted(f"[rank {r}] e{r} {i}" for r in "012" for i in range(300))


def test_exact_environment_of_each_rank() -> None:
    program = ("import json, os\nprint(json.dumps({k: v for k, v in os.environ.items() "
               "if k.startswith('SINGA_') or k == 'KEEP_ME'}))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SINGA_")}
    proc = launch(3, program, "--master", "127.0.0.1:7001", env={**env, "KEEP_ME": "yes"})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    seen = {int(m.group(1)): json.loads(m.group(2)) for m in re.finditer(r"\[rank (\d)\] (.*)", out)}
    token = seen[0]["SINGA_JOB_TOKEN"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 random bytes, URL-safe base64
    assert seen == {r: {"SINGA_RANK": str(r), "SINGA_WORLD_SIZE": "3", "SINGA_MASTER": "127.0.0.1:7001",
                        "SINGA_JOB_TOKEN": token, "KEEP_ME": "yes"} for r in range(3)}


def test_a_token_already_set_is_the_jobs() -> None:
    program = "import os\nprint(os.environ['SINGA_JOB_TOKEN'])"
    secret = "s3cret-of-the-whole-job"
    proc = launch(2, program, env={**os.environ, "SINGA_JOB_TOKEN": secret})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert sorted(out.splitlines()) == [f"[rank 0] {secret}", f"[rank 1] {secret}"]


def test_a_token_too_short_to_be_secret_is_refused() -> None:
    proc = launch(2, "print('never')", env={**os.environ, "SINGA_JOB_TOKEN": "s3cret"})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "SINGA_JOB_TOKEN is 6 characters long" in err and "never" not in out


def test_first_failure_stops_the_others(tmp_path: Path) -> None:
    # rank 2 ignores SIGTERM, so it takes the SIGKILL after the grace period; rank 1 fails once rank 2
    # is ready, so the launcher never ends by the others' sleep
    ready = tmp_path / "ready"
    program = SLEEPER.format(
        extra=f"r = os.environ['SINGA_RANK']\nif r == '2': {IGNORE_TERM}",
        after=(f"if r == '2': open({str(ready)!r}, 'w').close()\n"
               f"if r == '1':\n    while not os.path.exists({str(ready)!r}): time.sleep(0.01)\n"
               "    print('giving up', file=sys.stderr); sys.exit(3)"))
    proc = launch(4, program)
    pids = read_pids(proc, 4)
    _out, err = proc.communicate(timeout=120)  # the ranks sleep 600 s: ending here means they were stopped
    assert proc.returncode == 3
    assert err.splitlines() == ["[rank 1] giving up",
                                "singart: rank 1 exited with code 3; stopping the other 3 rank(s)"]
    assert wait_gone(list(pids.values()), 0) == []  # the launcher reaped every rank before it ended


def test_a_rank_killed_by_a_signal() -> None:
    program = SLEEPER.format(extra="", after="if os.environ['SINGA_RANK'] == '0': os.kill(os.getpid(), 9)")
    proc = launch(2, program)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + 9
    assert err.splitlines() == ["singart: rank 0 was killed by SIGKILL; stopping the other 1 rank(s)"]


def test_every_rank_done_is_exit_0() -> None:
    proc = launch(3, "import os, sys\nsys.exit(0)")
    out, err = proc.communicate(timeout=120)
    assert (proc.returncode, out, err) == (0, "", "")


def test_ranks_that_end_first_do_not_stop_the_others() -> None:
    program = "import os, time\nr = int(os.environ['SINGA_RANK'])\ntime.sleep(r * 0.3)\nprint('done')"
    proc = launch(3, program)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert sorted(out.splitlines()) == ["[rank 0] done", "[rank 1] done", "[rank 2] done"]


@pytest.mark.parametrize("sig, code, line", [(signal.SIGINT, 130, "singart: interrupted"),
                                             (signal.SIGTERM, 143, "singart: terminated (SIGTERM)")])
@pytest.mark.parametrize("whole_group", [False, True])
def test_launcher_stopped_stops_every_rank(sig: signal.Signals, code: int, line: str, whole_group: bool) -> None:
    # whole_group: as a terminal's Ctrl-C, to the launcher's process group, which its ranks are not in
    # (else each would die on its own with a traceback, before the launcher stops them in order)
    program = SLEEPER.format(extra=f"if os.environ['SINGA_RANK'] == '1': {IGNORE_TERM}", after="")
    proc = launch(3, program, new_group=True)
    pids = read_pids(proc, 3)
    if whole_group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == code
    assert err.splitlines() == [line]
    assert wait_gone(list(pids.values()), 0) == []


def test_no_rank_outlives_a_killed_launcher() -> None:
    # kill -9 leaves the launcher no time to stop anyone: the kernel must end the ranks, SIGTERM-deaf too
    program = SLEEPER.format(extra=IGNORE_TERM, after="")
    proc = launch(3, program)
    pids = read_pids(proc, 3)
    proc.kill()
    proc.wait(timeout=60)
    left = wait_gone(list(pids.values()))
    for pid in left:
        os.kill(pid, signal.SIGKILL)  # not to leave them to the next test
    assert left == []


def test_a_command_that_cannot_start() -> None:
    proc = subprocess.run([*LAUNCH, "-n", "2", "--", "/nonexistent/prog"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "singart: error: cannot start rank 0: /nonexistent/prog: No such file or directory"]


def test_no_ranks_is_an_error() -> None:
    proc = subprocess.run([*LAUNCH, "-n", "0", "--", "true"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["singart: error: a run needs at least one process, not 0"]


LAUNCHER_VARIABLES = ("SINGA_", "RANK", "WORLD_SIZE", "MASTER_", "SLURM_", "OMPI_", "PMI_")


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="mpirun is not on PATH (Debian: openmpi-bin)")
def test_each_rank_under_mpirun_sees_its_rank(tmp_path: Path) -> None:
    # the ranks a real Open MPI launch gives, read by the code `singart run` will use under mpirun; each
    # rank writes a file of its own, as mpirun may interleave the ranks' output within a line
    program = ("import os, sys\nfrom singart.launch.rank import resolve\nr = resolve(os.environ)\n"
               "text = f'{r.rank} {r.world_size} {r.source}' if r else 'none'\n"
               "open(os.path.join(sys.argv[1], str(os.getpid())), 'w').write(text)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(LAUNCHER_VARIABLES)}
    proc = subprocess.run(["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", "3", sys.executable, "-c",
                           program, str(tmp_path)], capture_output=True, text=True, timeout=300, check=False,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    source = "Open MPI (OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE)"
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == [f"{r} 3 {source}" for r in range(3)]


def test_a_rank_failing_with_its_own_error_names_the_run_over_one_it_stopped() -> None:
    # rank 1 exits as stopped by another's failure (3) at once; rank 2, whose error it was, a little later
    program = ("import os, sys, time\nr = os.environ['SINGA_RANK']\n"
               "if r == '1': sys.exit(3)\nif r == '2': time.sleep(1); sys.exit(2)\ntime.sleep(600)")
    proc = launch(3, program)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.splitlines() == ["singart: rank 2 exited with code 2; stopping the other 1 rank(s)"]
