"""Bridges across processes: a feature-partitioned MLP whose two workers run in two processes gives the
same loss and the same gradients, step by step, as the same plan's group run as two threads of one
process; a worker process killed mid-step ends the other's wait on it with one clear line, not a hang.
The parts: real processes, real gRPC servers on loopback, a real SIGKILL."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from string import Template

import numpy as np
import pytest
import singac
from singa_proto import job_pb2
from singa_proto import services_pb2 as pb
from singa_spec.errors import SingaError
from singa_spec.plans import read_plan, seal, write_plan
from singart.connection import Aborted
from singart.distributed.bridges_rpc import SHM_BYTES, Inbox, InboxServicer, Link, RemoteChannels
from singart.transport import add_service, local_server
from singart.transport.framing import wire_dtype

from ..shards import image_shard
from .test_equivalence import mlp

DRIVER = Path(__file__).with_name("bridges_driver.py")
TOKEN = "bridges-test-token-0123456789"
STEPS = 4
# the last tensor rank 0 sends to rank 1 in a forward pass; next it waits for fc2@01's output
LAST_SENT = "act@00+->act>fc2@01.src"
HANG_GUARD_S = 120  # a wait that never ends fails the test here instead of hanging the suite


def make_plan(tmp_path: Path) -> Path:
    """The feature-partitioned MLP of the equivalence tests, one worker per process."""
    shard = image_shard(tmp_path / "shard")
    text = Template(mlp()).substitute(steps=STEPS, n=2, ws=tmp_path / "ws", dim=1, shard=shard,
                                      updater="type: kSGD momentum: 0.9", lr=0.05)
    src = tmp_path / "job.pbtxt"
    src.write_text(text.replace("nworkers_per_group: 2", "nworkers_per_group: 2 nworkers_per_procs: 1"))
    plan = seal(singac.compile_file(str(src)))
    assert [[(w.group, w.id) for w in r.workers] for r in plan.roles] == [[(0, 0)], [(0, 1)]]
    path = tmp_path / "job.plan"
    write_plan(plan, path)
    return path


def start(*args: object, threads: int) -> subprocess.Popen[str]:
    """A driver process; `threads` kernel threads in all, so each worker gets one in every run."""
    env = {**os.environ, "SINGA_JOB_TOKEN": TOKEN, "OMP_NUM_THREADS": str(threads)}
    return subprocess.Popen([sys.executable, str(DRIVER), *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def connect(procs: list[subprocess.Popen[str]]) -> None:
    """Read each rank's address and hand every rank the address book."""
    addresses = []
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line + (proc.stderr.read() if proc.stderr else "")
        addresses.append(line.split()[-1])
    book = " ".join(f"{r}={a}" for r, a in enumerate(addresses))
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(book + "\n")
        proc.stdin.flush()


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for a driver's end; its exit code and stderr."""
    _, err = proc.communicate(timeout=HANG_GUARD_S)
    return proc.returncode, err


def loaded(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def test_two_processes_compute_as_one(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    ref = start(plan, tmp_path / "ref.npz", STEPS, threads=2)
    assert finish(ref) == (0, "")
    procs = [start(plan, tmp_path / f"rank{r}.npz", STEPS, r, threads=1) for r in (0, 1)]
    connect(procs)
    assert [finish(p) for p in procs] == [(0, ""), (0, "")]
    want = loaded(tmp_path / "ref.npz")
    parts = [loaded(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    assert {f"metric/{s}/loss" for s in range(STEPS)} <= set(want)
    got = dict(parts[1])
    for k, v in parts[0].items():  # metrics of both ranks add up; a gradient comes from one rank only
        got[k] = got[k] + v if k.startswith("metric/") and k in got else v
    assert not set(parts[0]) & set(parts[1]) - {k for k in got if k.startswith("metric/")}
    assert got.keys() == want.keys()
    assert {k.split("/")[2] for k in want if k.startswith("grad/")} == {"w1", "b1", "w2", "b2"}
    assert all(any(k.startswith("grad/") for k in p) for p in parts), "a process computed no gradient"
    for k in want:  # the same kernels on the same inputs with one thread each: the same bits
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    assert want[f"metric/{STEPS - 1}/loss"][0] != want["metric/0/loss"][0]  # it trained


def test_a_killed_peer_ends_the_wait_with_a_clear_error(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    procs = [start(plan, tmp_path / "rank0.npz", STEPS, 0, threads=1),
             start(plan, tmp_path / "rank1.npz", STEPS, 1, 2, LAST_SENT, threads=1)]
    connect(procs)
    assert procs[1].stdout is not None and procs[1].stdout.readline() == "stalled\n"
    procs[1].kill()  # SIGKILL mid-step: rank 0 sent all of step 2's forward and now waits on rank 1
    procs[1].wait(timeout=HANG_GUARD_S)
    code, err = finish(procs[0])
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "fc2@01->fc2>loss.src step 2" in lines[0] and "rank 1 at 127.0.0.1:" in lines[0], err
    assert "is gone; its tensor never came" in lines[0], err
    assert job_pb2.Phase.Name(job_pb2.kTrain) in lines[0], err  # the bridge is named with its phase


@pytest.fixture
def peer() -> Iterator[tuple[Inbox, Link]]:
    """An inbox served on loopback in this process, and a link to it as rank 1's."""
    inbox = Inbox()
    server, address = local_server(TOKEN)
    add_service(server, "Bridges", InboxServicer(inbox))
    server.start()
    link = Link(1, address, TOKEN, None, same_host=True)
    yield inbox, link
    link.close()
    server.stop(0)


def never() -> None:
    raise AssertionError("the tensor was there: no wait")


@pytest.mark.parametrize("size", [6, SHM_BYTES], ids=["inline", "shared-memory"])
def test_tensors_and_none_gradients_arrive_by_step(peer: tuple[Inbox, Link], size: int) -> None:
    inbox, link = peer
    a, b = (np.arange(size, dtype=np.float32) + k for k in (0, 1))
    link.send((3, "e", pb.kBridgeForward), b)
    link.send((2, "e", pb.kBridgeForward), a)
    link.send((2, "e", pb.kBridgeBackward), None)
    got = inbox.take((2, "e", pb.kBridgeForward), never, 1.0)
    assert np.array_equal(got, a) and got.dtype is np.dtype("float32")  # the kernels take it as it is
    assert inbox.take((2, "e", pb.kBridgeBackward), never, 1.0) is None
    assert np.array_equal(inbox.take((3, "e", pb.kBridgeForward), never, 1.0), b)


def test_only_tensors_cross_processes(peer: tuple[Inbox, Link]) -> None:
    with pytest.raises(SingaError, match="bridge e step 0: a list cannot cross processes"):
        peer[1].send((0, "e", pb.kBridgeForward), [1, 2])  # type: ignore[arg-type]


def test_a_send_to_a_stopped_process_names_it(peer: tuple[Inbox, Link]) -> None:
    server, address = local_server(TOKEN)
    server.start()
    server.stop(0).wait()
    gone = Link(3, address, TOKEN, None, same_host=True)
    with pytest.raises(SingaError, match=f"bridge e step 5: the worker process of rank 3 at {address} did not"):
        gone.send((5, "e", pb.kBridgeForward), np.zeros(3, np.float32))


def test_abort_wakes_a_worker_waiting_on_another_process(tmp_path: Path, peer: tuple[Inbox, Link]) -> None:
    plan = read_plan(make_plan(tmp_path))
    graph = plan.graphs[0]
    channels = RemoteChannels(graph, 0, {0: 0, 1: 1}, {1: peer[1]}, peer[0], probe=0.05)
    waiting = channels.get("fc2@01->fc2>loss.src").forward  # rank 1 sends it, rank 0 waits
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: errors.append(pytest.raises(Aborted, waiting.get).value))
    thread.start()
    channels.abort()
    thread.join(HANG_GUARD_S)
    assert not thread.is_alive() and len(errors) == 1


def test_the_wire_dtype_is_numpys_own() -> None:
    assert all(wire_dtype(n) is np.dtype(n) for n in ("float32", "float64", "int64", "uint8", "bool"))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
