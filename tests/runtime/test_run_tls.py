"""`singart run --tls-cert/--tls-key/--tls-ca` with certificates made here by the openssl command: a
2-process plan prints the same losses as without TLS; a rank without the job's certificates cannot join,
and the others end with one line; the flags come all three or none, and a bad file is named."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from singart.distributed.launcher import free_port, rank_args
from singart.transport import TlsFiles

from .run_jobs import command, make_plan, run
from .test_run_processes import ALLREDUCE, ONE_PROCESS, SANDBLASTER, START, TOKEN, loss_lines, quiet_port
from .test_transport_tls import make_ca, make_cert

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def flags(tls: TlsFiles) -> list[str]:
    return ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key), "--tls-ca", str(tls.ca)]


def singart_lines(err: str) -> list[str]:
    """The lines singart itself says (not the start lines)."""
    return [line for line in err.splitlines() if line.startswith("singart:")]


def test_two_processes_with_mutual_tls_print_the_same_losses(tmp_path: Path) -> None:
    tls = make_cert(tmp_path, "rank", make_ca(tmp_path, "job-ca"))
    runs = {}
    for name, extra in (("plain", []), ("tls", flags(tls))):
        (tmp_path / name).mkdir()
        plan = make_plan(tmp_path / name, workers=ALLREDUCE, steps=4)
        done = run("singart", "run", str(plan), *extra)
        assert done.returncode == 0, done.stderr
        assert sorted(int(r) for r, *_ in START.findall(done.stderr)) == [0, 1]
        assert "Traceback" not in done.stderr
        runs[name] = loss_lines(done.stdout)
    assert len(runs["tls"]) == 4
    assert runs["tls"] == runs["plain"]


def start_rank(plan: Path, rank: int, master: str, tls: list[str]) -> subprocess.Popen[str]:
    """One rank started by hand, as any launcher starts it; the job gives up on missing ranks after 5 s."""
    env = {**os.environ, "SINGA_RANK": str(rank), "SINGA_WORLD_SIZE": "3", "SINGA_MASTER": master,
           "SINGA_JOB_TOKEN": TOKEN, "SINGA_REGISTER_TIMEOUT": "5"}
    return subprocess.Popen(command("singart", "run", str(plan), *tls), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("intruder", ["no certificates", "another CA's"])
def test_a_rank_without_the_jobs_certificates_cannot_join(tmp_path: Path, intruder: str) -> None:
    ca = make_ca(tmp_path, "job-ca")
    job = flags(make_cert(tmp_path, "rank", ca))
    theirs = [] if intruder == "no certificates" else flags(make_cert(tmp_path, "x", make_ca(tmp_path, "x-ca")))
    plan = make_plan(tmp_path, workers=SANDBLASTER, steps=4)
    master = f"127.0.0.1:{free_port()}"
    ranks = [start_rank(plan, 0, master, job), start_rank(plan, 1, master, theirs),
             start_rank(plan, 2, master, job)]
    try:
        ends = [p.communicate(timeout=60) for p in ranks]
    finally:
        for p in ranks:
            if p.poll() is None:
                p.kill()
                p.communicate()
    _, err = ends[1]
    assert ranks[1].returncode == 2
    (line,) = singart_lines(err)
    assert "coordinator at " + master + " refused the connection" in line and "--tls-ca" in line, err
    for r in (0, 2):
        _, err = ends[r]
        assert ranks[r].returncode not in (0, None)
        (line,) = singart_lines(err)
        assert "did not register in time: rank 1" in line, err
        assert "Traceback" not in err and "Handshake" not in err
    assert not (tmp_path / "ws").exists() or not any((tmp_path / "ws").rglob("*"))


@pytest.mark.parametrize("given", [["--tls-cert"], ["--tls-cert", "--tls-ca"]])
def test_some_tls_flags_without_the_others_are_refused(tmp_path: Path, given: list[str]) -> None:
    tls = make_cert(tmp_path, "rank", make_ca(tmp_path, "job-ca"))
    plan = make_plan(tmp_path, workers=ALLREDUCE, steps=4)
    paths = dict(zip(("--tls-cert", "--tls-key", "--tls-ca"), flags(tls)[1::2]))
    done = run("singart", "run", str(plan), *(w for f in given for w in (f, paths[f])))
    assert done.returncode == 2
    (line,) = singart_lines(done.stderr)
    assert "without" in line and "--tls-key" in line and "all three" in line, done.stderr
    assert not START.search(done.stderr)  # refused before any process started


def test_a_missing_or_wrong_tls_file_is_named_by_its_flag(tmp_path: Path) -> None:
    tls = make_cert(tmp_path, "rank", make_ca(tmp_path, "job-ca"))
    plan = make_plan(tmp_path, workers=ALLREDUCE, steps=4)
    missing = run("singart", "run", str(plan), "--tls-cert", str(tls.cert), "--tls-key",
                  str(tmp_path / "nokey.pem"), "--tls-ca", str(tls.ca))
    assert missing.returncode == 2
    (line,) = singart_lines(missing.stderr)
    assert f"--tls-key {tmp_path / 'nokey.pem'}: No such file" in line, missing.stderr
    swapped = run("singart", "run", str(plan), "--tls-cert", str(tls.key), "--tls-key", str(tls.cert),
                  "--tls-ca", str(tls.ca))
    assert swapped.returncode == 2
    (line,) = singart_lines(swapped.stderr)
    assert f"--tls-cert {tls.key}: holds no PEM certificate" in line, swapped.stderr


def test_ranks_on_other_hosts_get_absolute_tls_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["run", "p.plan", "--hosts", "h.txt", "--tls-cert", "c.pem", "--tls-key=k.pem", "--tls-ca", "/ca.pem"]
    assert rank_args(argv, "p.plan") == ["--tls-cert", str(tmp_path / "c.pem"),
                                         f"--tls-key={tmp_path / 'k.pem'}", "--tls-ca", "/ca.pem"]


def mpirun(*apps: list[str]) -> list[str]:
    """mpirun's MPMD command line: each app a [count, argv...] list, joined by ':'."""
    line = ["mpirun", "--oversubscribe", "--allow-run-as-root"]
    for i, (count, *argv) in enumerate(apps):
        line += ([":"] if i else []) + ["-np", count, *argv]
    return line


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="no mpirun (Debian's openmpi-bin) on PATH")
def test_mpirun_ranks_with_mutual_tls(tmp_path: Path) -> None:
    # the same job under mpirun twice: every rank with the job's certificates prints the one-process
    # losses; with rank 2 holding another CA's certificate (MPMD), rank 2 is refused and the job fails
    ca = make_ca(tmp_path, "job-ca")
    job = flags(make_cert(tmp_path, "rank", ca))
    other = flags(make_cert(tmp_path, "x", make_ca(tmp_path, "x-ca")))
    (tmp_path / "one").mkdir()
    one = run("singart", "run", str(make_plan(tmp_path / "one", workers=ONE_PROCESS, steps=4)))
    assert one.returncode == 0, one.stderr
    plan = make_plan(tmp_path, workers=SANDBLASTER, steps=4)
    singart = command("singart", "run", str(plan))
    env = {**os.environ, "SINGA_JOB_TOKEN": TOKEN, "SINGA_REGISTER_TIMEOUT": "10",
           "SINGA_MASTER": f"127.0.0.1:{quiet_port()}"}
    done = subprocess.run(mpirun(["3", *singart, *job]), capture_output=True, text=True, timeout=300,
                          check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert loss_lines(done.stdout) == loss_lines(one.stdout)
    env["SINGA_MASTER"] = f"127.0.0.1:{quiet_port()}"
    refused = subprocess.run(mpirun(["2", *singart, *job], ["1", *singart, *other]), capture_output=True,
                             text=True, timeout=300, check=False, env=env)
    assert refused.returncode != 0
    assert "refused the connection" in refused.stderr and "--tls-ca" in refused.stderr, refused.stderr
    assert "Train @" not in refused.stdout
