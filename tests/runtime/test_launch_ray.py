"""The Ray launcher on simulated hosts: network namespaces with a Ray node each (one cluster for the
module), a driver inside the head's namespace, and stand-in rank programs that say where they run and
what they got. Skips with the reason where namespaces cannot be made or Ray is not installed."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .ray_hosts import Cluster, ray_cluster, why_not

DRIVER = str(Path(__file__).with_name("ray_driver.py"))
# a rank that reports itself: rank, the address it reaches the master from (its host's), its network
# namespace, the SINGA_* variables it got and the plan file's digest
STANDIN = """
import hashlib, json, os, socket, sys
host = os.environ['SINGA_MASTER'].rsplit(':', 1)[0]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((host, 9))
print(json.dumps({'rank': int(os.environ['SINGA_RANK']), 'address': s.getsockname()[0],
                  'netns': os.stat('/proc/self/ns/net').st_ino, 'plan': sys.argv[1],
                  'sha': hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest(),
                  'omp': os.environ.get('OMP_NUM_THREADS'),
                  'env': {k: v for k, v in os.environ.items() if k.startswith(('SINGA_', 'RAY_AUTH'))}}))
print('done on stderr', file=sys.stderr)
"""
# rank 0 says its pid and waits; rank 1 fails once rank 0 is running
FAILING = """
import os, sys, time
flag = sys.argv[2]
if os.environ['SINGA_RANK'] == '0':
    print('pid', os.getpid(), flush=True)
    open(flag, 'w').close()
    time.sleep(600)
while not os.path.exists(flag):
    time.sleep(0.05)
print('giving up', flush=True)
sys.exit(3)
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Two simulated hosts, a Ray node on each: one cluster start for the whole module."""
    reason = why_not()
    if reason:
        pytest.skip(reason)
    with ray_cluster(2) as c:
        yield c


def launch(c: Cluster, tmp: Path, hosts: str, world_size: int, program: str, *args: str,
           payload: bytes = b"plan", address: str = "", env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    """The launcher, run inside the head's namespace, on a hosts file and a program as every rank."""
    (tmp / "hosts.txt").write_text(hosts)
    (tmp / "plan.bin").write_bytes(payload)
    argv = [sys.executable, DRIVER, "--address", address or c.head, str(tmp / "hosts.txt"), str(tmp / "plan.bin"),
            str(world_size), "--", "{python}", "-c", program, "{plan}", *args]
    return c.run(0, argv, timeout=120, cwd=str(Path(__file__).parents[2]), env=env or c.env)


def netns_inode(name: str) -> int:
    """The inode that identifies a named network namespace."""
    return os.stat(f"/run/netns/{name}").st_ino


def test_every_rank_runs_on_the_host_the_file_names(cluster: Cluster, tmp_path: Path) -> None:
    payload = os.urandom(100_000)
    # the second host first, with two slots: ranks 0 and 1 go there, rank 2 to the head's host
    done = launch(cluster, tmp_path, f"# hosts\n{cluster.addresses[1]} slots=2\n{cluster.addresses[0]}\n",
                  3, STANDIN, payload=payload)
    assert done.returncode == 0, done.stderr
    reports = {}
    for line in done.stdout.splitlines():
        m = re.fullmatch(r"\[rank (\d+)\] (\{.*\})", line)
        assert m, line
        reports[int(m.group(1))] = json.loads(m.group(2))
    assert sorted(reports) == [0, 1, 2]
    host_of = {0: 1, 1: 1, 2: 0}
    master = reports[0]["env"]["SINGA_MASTER"]
    assert master.startswith(f"{cluster.addresses[1]}:")
    tokens = {r["env"]["SINGA_JOB_TOKEN"] for r in reports.values()}
    assert len(tokens) == 1 and len(tokens.pop()) >= 16
    for rank, r in reports.items():
        assert r["rank"] == rank
        assert r["address"] == cluster.addresses[host_of[rank]]
        assert r["netns"] == netns_inode(cluster.names[host_of[rank]])
        assert r["env"]["SINGA_RANK"] == str(rank) and r["env"]["SINGA_WORLD_SIZE"] == "3"
        assert r["env"]["SINGA_MASTER"] == master
        assert "RAY_AUTH_TOKEN" not in r["env"]  # Ray's credentials stay with Ray
        assert r["omp"] is None  # not Ray's forced OMP_NUM_THREADS=1
        assert r["sha"] == hashlib.sha256(payload).hexdigest()  # the plan's bytes arrived
        assert r["plan"] != str(tmp_path / "plan.bin") and not Path(r["plan"]).exists()  # a temp copy, removed
    assert sorted(done.stderr.splitlines()) == [f"[rank {r}] done on stderr" for r in range(3)]


def test_a_host_missing_from_the_cluster_is_refused_by_name(cluster: Cluster, tmp_path: Path) -> None:
    done = launch(cluster, tmp_path, f"{cluster.addresses[0]}\n\n{cluster.spare}\n", 2, STANDIN)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert f"line 3: {cluster.spare} is not a live node of the Ray cluster at {cluster.head}" in lines[0]
    assert all(addr in lines[0] for addr in cluster.addresses)


def test_too_few_slots_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    done = launch(cluster, tmp_path, f"{cluster.addresses[0]}\n{cluster.addresses[1]} slots=2\n", 4, STANDIN)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [("singart: error: --hosts: the hosts have 3 slots in all but the plan "
                                         "has 4 processes: add hosts or slots=N")]


def test_a_failing_rank_stops_the_others(cluster: Cluster, tmp_path: Path) -> None:
    flag = tmp_path / "rank0-running"
    done = launch(cluster, tmp_path, f"{cluster.addresses[0]}\n{cluster.addresses[1]}\n", 2, FAILING,
                  str(flag))
    assert done.returncode == 3, done.stderr
    assert "[rank 1] giving up" in done.stdout.splitlines()
    assert "singart: rank 1 exited with code 3; stopping the other 1 rank(s)" in done.stderr.splitlines()
    pid = int(re.search(r"^\[rank 0\] pid (\d+)$", done.stdout, re.MULTILINE).group(1))  # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists(), "rank 0 still runs"


def test_an_address_where_no_cluster_listens_is_one_line(cluster: Cluster, tmp_path: Path) -> None:
    address = f"{cluster.addresses[0]}:1"
    done = launch(cluster, tmp_path, f"{cluster.addresses[0]}\n", 1, STANDIN, address=address)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [(f"singart: error: cannot join the Ray cluster at {address}: "
                                         "Connection refused")]


def test_a_driver_without_the_clusters_token_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    env = {**cluster.env, "RAY_AUTH_TOKEN": "0" * 64}
    done = launch(cluster, tmp_path, f"{cluster.addresses[0]}\n", 1, STANDIN, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    # Ray's own C++ log says each retry before it gives up; our line comes last, and no traceback
    lines = done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    assert lines[-1].startswith(f"singart: error: cannot join the Ray cluster at {cluster.head}: ")
    assert "RAY_AUTH_TOKEN" in lines[-1]


def test_singart_run_trains_a_plan_across_two_hosts(cluster: Cluster, tmp_path: Path) -> None:
    """`singart run --hosts` across the simulated hosts: each rank runs on its host, listens on that
    host's address (not loopback, never a wildcard), and the job prints the loss lines the same plan
    prints when its two processes run on this machine."""
    from .run_jobs import make_plan
    from .test_run_processes import ALLREDUCE, loss_lines

    (tmp_path / "here").mkdir()
    here = make_plan(tmp_path / "here", workers=ALLREDUCE, steps=4)
    local = subprocess.run([str(Path(sys.executable).parent / "singart"), "run", str(here)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert local.returncode == 0, local.stderr
    (tmp_path / "there").mkdir()
    plan = make_plan(tmp_path / "there", workers=ALLREDUCE, steps=4)
    (tmp_path / "hosts.txt").write_text(f"{cluster.addresses[1]}\n{cluster.addresses[0]}\n")
    done = cluster.run(0, [str(Path(sys.executable).parent / "singart"), "run", str(plan), "--hosts",
                           str(tmp_path / "hosts.txt"), "--ray-address", cluster.head],
                       timeout=300, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    starts = dict(re.findall(r"\[rank (\d)\] rank \d role .+ listening on ([\d.]+):\d+", done.stderr))
    assert starts == {"0": cluster.addresses[1], "1": cluster.addresses[0]}, done.stderr[-3000:]
    assert loss_lines(done.stdout) == loss_lines(local.stdout) and len(loss_lines(local.stdout)) == 4
