"""The coordinator's rules on plain state, without a network: who may register, what a stop does to
waiting calls and heartbeats, and the metric merge. (test_coordinator.py runs them across processes.)"""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from singa_proto import services_pb2 as pb
from singa_spec.errors import SingaError
from singart.distributed.coordinator import Coordinator, Stopped

from .coord_util import ROLES_3, make_plan


@pytest.fixture
def coordinator(tmp_path: Path) -> Coordinator:
    return Coordinator(make_plan(tmp_path / "job.plan", ROLES_3), register_s=30)


def peer(rank: int, role: str = "worker") -> pb.Peer:
    return pb.Peer(rank=rank, role=role, address=f"127.0.0.1:{7000 + rank}")


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[BaseException]]:
    """Run a blocking call in a thread; what it raised lands in the list."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as err:  # noqa: BLE001 - the test inspects it
            raised.append(err)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, raised


def test_a_rank_outside_the_plan_is_refused(coordinator: Coordinator) -> None:
    with pytest.raises(SingaError, match="rank 3 is not in the plan, whose ranks are 0 to 2"):
        coordinator.register(peer(3), coordinator.plan_hash)


def test_a_second_registration_of_a_rank_is_refused_and_stops_the_waiting_ones(coordinator: Coordinator) -> None:
    first, raised = in_thread(lambda: coordinator.register(peer(1), coordinator.plan_hash))
    with pytest.raises(SingaError, match="rank 1 registered twice: at 127.0.0.1:7001 and at 127.0.0.1:7001"):
        coordinator.register(peer(1), coordinator.plan_hash)
    first.join(timeout=5)
    assert not first.is_alive() and isinstance(raised[0], Stopped) and "registered twice" in str(raised[0])


def test_a_role_other_than_the_plans_is_refused(coordinator: Coordinator) -> None:
    with pytest.raises(SingaError, match="rank 0 says it is a 'worker' but the plan makes it a 'worker\\+server'"):
        coordinator.register(peer(0), coordinator.plan_hash)


def test_a_stop_ends_waiting_barriers_and_answers_every_heartbeat(coordinator: Coordinator) -> None:
    waiting, raised = in_thread(lambda: coordinator.barrier(1, "epoch"))
    coordinator.stop(2, "out of disk")
    waiting.join(timeout=5)
    reason = "rank 2, worker (group 1, id 0) + server (group 1, id 0) stopped the job: out of disk"
    assert [str(err) for err in raised] == [reason]
    assert coordinator.heartbeat(0) == reason
    with pytest.raises(Stopped, match="out of disk"):
        coordinator.metrics(pb.MetricsRequest(rank=0, step=1, phase="train", count=1))


def test_arriving_twice_at_a_barrier_is_an_error(coordinator: Coordinator) -> None:
    in_thread(lambda: coordinator.barrier(0, "b"))
    with pytest.raises(SingaError, match="rank 0 arrived twice at barrier 'b' before the others"):
        coordinator.barrier(0, "b")


def test_metrics_wait_for_every_worker_process_and_refuse_repeats(tmp_path: Path) -> None:
    got: list[tuple[str, int, dict]] = []
    plan = make_plan(tmp_path / "job.plan", {0: ([], [(0, 0)]), 1: ([(0, 0)], []), 2: ([(0, 1)], [])})
    coordinator = Coordinator(plan, on_metrics=lambda *merged: got.append(merged))
    report = pb.MetricsRequest(rank=1, step=4, phase="train", count=2, metrics=[pb.Metric(name="loss", sum=1.5)])
    coordinator.metrics(report)
    assert got == []
    with pytest.raises(SingaError, match="rank 1 reported train step 4 twice"):
        coordinator.metrics(report)
    with pytest.raises(SingaError, match="rank 0 reports 'train' metrics, which it does not compute"):
        coordinator.metrics(pb.MetricsRequest(rank=0, step=4, phase="train"))
    coordinator.metrics(pb.MetricsRequest(rank=2, step=4, phase="train", count=3,
                                          metrics=[pb.Metric(name="loss", sum=0.25)]))
    assert got == [("train", 4, {"loss": (1.75, 5)})]


def test_a_barrier_hands_every_rank_the_largest_value_of_its_round(coordinator: Coordinator) -> None:
    for values in ({0: 3, 1: 7, 2: -1}, {0: 1, 1: 2, 2: 0}):  # the first round's 7 must not leak into the next
        got: dict[int, int] = {}

        def arrive(rank: int, values: dict[int, int] = values, got: dict[int, int] = got) -> None:
            got[rank] = coordinator.barrier(rank, "resume", values[rank])
        threads = [in_thread(lambda r=r: arrive(r))[0] for r in (0, 1)]
        arrive(2)
        for t in threads:
            t.join(timeout=5)
        assert got == dict.fromkeys(values, max(values.values()))
