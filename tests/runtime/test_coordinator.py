"""The coordinator between real processes on loopback (tests/runtime/coord_peer.py): every rank gets
the same address book, a foreign plan, a missing rank and a killed rank stop the job with a line that
names them, metrics of two processes merge exactly, a barrier waits for every rank, and no method
answers a call without the job's token."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from singa_proto import services_pb2 as pb
from singart.distributed.coordinator import Coordinator, serve
from singart.transport import SERVICES, Framed, open_channel
from singart.transport.framing import encode

from .coord_util import ROLES_3, make_plan
from .run_jobs import reap
from .transport_util import TOKEN

PEER = Path(__file__).with_name("coord_peer.py")
STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture
def plan3(tmp_path: Path) -> Path:
    make_plan(tmp_path / "job.plan", ROLES_3)
    return tmp_path / "job.plan"


@pytest.fixture(autouse=True)
def _kill_leftovers() -> Iterator[None]:
    """A failing test leaves no process behind."""
    yield
    reap(STARTED)


def start(plan: Path, rank: int, mode: str, coordinator: str | None = None, **env: str) -> subprocess.Popen[str]:
    args = [sys.executable, str(PEER), str(plan), str(rank), mode, *([coordinator] if coordinator else [])]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SINGA_JOB_TOKEN": TOKEN, **env})
    STARTED.append(proc)
    return proc


def start_job(plans: list[Path], mode: str, **env: str) -> list[subprocess.Popen[str]]:
    """Rank 0 first (it hosts the coordinator), then the others pointed at it."""
    first = start(plans[0], 0, mode, **env)
    assert first.stdout is not None
    line = first.stdout.readline()
    assert line.startswith("coordinator on "), line + first.stderr.read()  # type: ignore[union-attr]
    address = line.split()[-1]
    return [first, *(start(plan, rank, mode, address, **env) for rank, plan in enumerate(plans) if rank)]


def finish(procs: list[subprocess.Popen[str]], timeout: float = 60) -> list[tuple[int, str, str]]:
    """Each process's exit code, stdout and stderr."""
    outs = [proc.communicate(timeout=timeout) for proc in procs]
    return [(proc.returncode, out, err) for proc, (out, err) in zip(procs, outs)]


def test_three_processes_get_the_same_address_book(plan3: Path) -> None:
    results = finish(start_job([plan3] * 3, "book"))
    assert [code for code, _, _ in results] == [0, 0, 0], results
    books = [json.loads(line.split(" ", 1)[1]) for _, out, _ in results
             for line in out.splitlines() if line.startswith("book ")]
    assert books[0] == books[1] == books[2]
    assert books[0] == {"addresses": {"0": "127.0.0.1:7000", "1": "127.0.0.1:7001", "2": "127.0.0.1:7002"},
                        "roles": {"0": "worker+server", "1": "worker", "2": "worker+server"},
                        "workers": {"0:0": 0, "0:1": 1, "1:0": 2}, "servers": {"0:0": 0, "1:0": 2}}


def test_a_process_of_another_plan_is_refused_naming_both_hashes(plan3: Path, tmp_path: Path) -> None:
    ours = make_plan(plan3, ROLES_3).content_hash
    other = make_plan(tmp_path / "other.plan", ROLES_3, name="another job").content_hash
    procs = start_job([plan3, tmp_path / "other.plan"], "book", COORD_REGISTER_S="60")
    (code0, _, err0), (code1, _, err1) = finish(procs[:2])
    line = f"rank 1 runs plan {other} but the coordinator runs plan {ours}"
    assert code1 == 2 and err1.strip().startswith(f"error: {line}"), err1
    assert code0 == 3 and line in err0, err0  # the waiting rank is told at once, not after the timeout


def test_a_missing_rank_times_out_naming_it(plan3: Path) -> None:
    results = finish(start_job([plan3] * 2, "book", COORD_REGISTER_S="2"))
    for code, _, err in results:
        assert code == 3, err
        assert err.strip() == ("stopped: these ranks did not register in time: "
                               "rank 2, worker (group 1, id 0) + server (group 1, id 0)")


@pytest.mark.parametrize("victim", [1, 0])
def test_a_killed_process_is_noticed_by_every_other(plan3: Path, victim: int) -> None:
    procs = start_job([plan3] * 3, "wait")
    for proc in procs:  # every rank registered (each one's book needs all) and beating
        assert proc.stdout is not None and proc.stdout.readline() == "beating\n"
    assert all(proc.poll() is None for proc in procs)
    procs[victim].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    survivors = [proc for rank, proc in enumerate(procs) if rank != victim]
    results = finish(survivors, timeout=30)
    elapsed = time.monotonic() - killed_at
    assert elapsed < 10, f"the others took {elapsed:.1f} s to end"
    named = "rank 1, worker (group 0, id 1)" if victim == 1 else "rank 0, worker (group 0, id 0) + server"
    for code, _, err in results:
        assert code == 3 and err.startswith("stopped: lost ") and named in err, err
    procs[victim].wait(timeout=5)


def test_metrics_of_two_processes_merge_exactly(tmp_path: Path) -> None:
    make_plan(tmp_path / "job.plan", {0: ([(0, 0)], [(0, 0)]), 1: ([(0, 1)], [])})
    results = finish(start_job([tmp_path / "job.plan"] * 2, "metrics"))
    assert [code for code, _, _ in results] == [0, 0], results
    merged = [line.split(" ", 3) for line in results[0][1].splitlines() if line.startswith("metrics ")]
    assert [(phase, int(step)) for _, phase, step, *_ in merged] == [("train", 1), ("train", 2)]
    for step, (*_, payload) in zip((1, 2), merged):
        got = {name: tuple(value) for name, value in json.loads(payload).items()}
        loss = (0.0 + (0.1 + step / 3)) + (0.2 + step / 3)  # summed in rank order
        accuracy = (0.0 + 0.7) + (0.7 + 1 / 7)
        assert got == {"loss": (loss, 8), "accuracy": (accuracy, 8)}


def test_a_barrier_releases_only_when_every_rank_arrived(plan3: Path) -> None:
    results = finish(start_job([plan3] * 3, "barrier"))
    assert [code for code, _, _ in results] == [0, 0, 0], results
    times = [[(word, float(t)) for word, t in (line.split() for line in out.splitlines())] for _, out, _ in results]
    for round_ in range(2):
        arrivals = [[t for w, t in mine if w == "arrive"][round_] for mine in times]
        releases = [[t for w, t in mine if w == "released"][round_] for mine in times]
        assert min(releases) >= max(arrivals)  # rank 2 arrives last, 2 s after rank 0


def call_without(token: str | None, address: str) -> set[grpc.StatusCode]:
    """The status of every Coordinator method called with `token` (None: no token at all)."""
    channel = open_channel(address, token) if token else grpc.insecure_channel(address)
    service, codes = SERVICES["Coordinator"], set()
    for method in service.methods:
        try:
            channel.unary_unary(f"/{service.full_name}/{method.name}")(encode(Framed(pb.Ack())), timeout=10)
            codes.add(grpc.StatusCode.OK)
        except grpc.RpcError as err:
            codes.add(err.code())
    channel.close()
    return codes


def test_every_method_refuses_a_call_without_the_token(tmp_path: Path) -> None:
    plan = make_plan(tmp_path / "job.plan", ROLES_3)
    server, address = serve(Coordinator(plan), "127.0.0.1:0", TOKEN)
    server.start()
    try:
        assert call_without(None, address) == {grpc.StatusCode.UNAUTHENTICATED}
        assert call_without("another-token-0123456789", address) == {grpc.StatusCode.UNAUTHENTICATED}
    finally:
        server.stop(0)
