"""The Coordinator service, hosted by rank 0 of a job: registration (the address book once every rank
of the plan is in), named barriers, heartbeats, metrics merged across processes, and stop.

`Coordinator` is plain state behind one condition variable; `CoordinatorServicer` only decodes, calls
it and encodes. Losing a rank is noticed without a thread of its own: every call, and every waiter
twice a second, checks how long each rank has been silent, and the surviving ranks' one-second
heartbeats keep those checks coming. Once the job stops, every call and heartbeat reply says why."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import grpc
from singa_proto import plan_pb2
from singa_proto import services_pb2 as pb

from .. import SingaError
from ..transport import Framed, TlsFiles, add_service, build_server
from .roles import describe, role_name, role_table

SILENCE_S = 5.0  # a rank silent this long is lost
REGISTER_S = 60.0  # every rank must have registered this long after the coordinator started
DONE = "done"  # the barrier every rank passes at the end: from then on silence is leaving, not loss
WAKE_S = 0.5  # how often a blocked call looks for lost ranks

# (phase, step, {metric: (sum, count)}) for every complete step, in the order steps complete
OnMetrics = Callable[[str, int, dict[str, tuple[float, int]]], None]


class Stopped(SingaError):
    """The job stops: a rank was lost, asked all to stop, or the job could not assemble."""


@dataclass
class Barrier:
    """One named barrier: the ranks that arrived in its current round, and how many rounds released."""

    arrived: set[int] = field(default_factory=set)
    released: int = 0
    pending: int | None = None  # the largest value brought to the current round so far
    value: int = 0  # the largest value of the last round released (its ranks read it before they return)


class Coordinator:
    """The state of a job's coordination; every method may block, and raises Stopped once the job stops."""

    def __init__(self, plan: plan_pb2.PlanProto, *, silence_s: float = SILENCE_S, register_s: float = REGISTER_S,
                 on_metrics: OnMetrics | None = None, reporters: Mapping[str, set[int]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.plan_hash = plan.content_hash
        self.roles = role_table(plan)
        self.silence_s, self.clock, self.on_metrics = silence_s, clock, on_metrics
        self.deadline = clock() + register_s
        workers = {rank for rank, role in self.roles.items() if role.workers}
        self.reporters = {"train": workers, "validation": workers, "test": workers, **(reporters or {})}
        self.peers: dict[int, pb.Peer] = {}
        self.seen: dict[int, float] = {}  # last heartbeat of each rank, once every rank has registered
        self.barriers: dict[str, Barrier] = {}
        self.reports: dict[tuple[str, int], dict[int, pb.MetricsRequest]] = {}
        self.reason: str | None = None
        self.done = False
        self._changed = threading.Condition()

    # -- the five calls ------------------------------------------------------------------------------

    def register(self, peer: pb.Peer, plan_hash: str) -> list[pb.Peer]:
        """Admit a rank of this plan, then wait for every rank: the address book, in rank order."""
        with self._changed:
            self._check()
            refusal = self._refusal(peer, plan_hash)
            if refusal:
                self._stop(refusal)
                raise SingaError(refusal)
            self.peers[peer.rank] = peer
            if len(self.peers) == len(self.roles):
                self.seen = dict.fromkeys(self.roles, self.clock())
            self._changed.notify_all()
            self._wait(lambda: len(self.peers) == len(self.roles), self._registration_over)
            return [self.peers[rank] for rank in sorted(self.peers)]

    def barrier(self, rank: int, name: str, value: int = 0) -> int:
        """Wait until every rank has arrived at the barrier `name` (which may be used again after); the
        largest `value` the ranks brought (a rank cannot arrive again before it has read it)."""
        with self._changed:
            self._check()
            self._known(rank)
            state = self.barriers.setdefault(name, Barrier())
            if rank in state.arrived:
                raise SingaError(f"rank {rank} arrived twice at barrier {name!r} before the others")
            state.arrived.add(rank)
            state.pending = value if state.pending is None else max(state.pending, value)
            round_ = state.released
            if len(state.arrived) == len(self.roles):
                state.arrived.clear()
                state.released += 1
                state.value, state.pending = state.pending, None
                self.done = self.done or name == DONE
                self._changed.notify_all()
            self._wait(lambda: state.released > round_)
            return state.value

    def heartbeat(self, rank: int) -> str | None:
        """Note that `rank` is alive; the reason the job stops, or None while it runs."""
        with self._changed:
            self._known(rank)
            if self.seen:
                self.seen[rank] = self.clock()
            self._check_silence()
            return self.reason

    def metrics(self, report: pb.MetricsRequest) -> None:
        """Keep one process's sums of a step; a step every reporter has sent goes to on_metrics."""
        with self._changed:
            self._check()
            self._known(report.rank)
            expected = self.reporters.get(report.phase)
            if expected is None or report.rank not in expected:
                raise SingaError(f"rank {report.rank} reports {report.phase!r} metrics, which it does not compute")
            key = (report.phase, report.step)
            got = self.reports.setdefault(key, {})
            if report.rank in got:
                raise SingaError(f"rank {report.rank} reported {report.phase} step {report.step} twice")
            got[report.rank] = report
            if set(got) == expected:
                merged = merge([got[rank] for rank in sorted(got)])
                del self.reports[key]
                if self.on_metrics:  # under the lock: steps reach it in the order they complete
                    self.on_metrics(report.phase, report.step, merged)

    def stop(self, rank: int, reason: str) -> None:
        """A rank asks every process to stop."""
        with self._changed:
            self._known(rank)
            self._stop(f"{describe(self.roles[rank])} stopped the job: {reason or 'no reason given'}")

    # -- the rules -----------------------------------------------------------------------------------

    def _refusal(self, peer: pb.Peer, plan_hash: str) -> str | None:
        """Why a registration is refused, or None."""
        if plan_hash != self.plan_hash:
            return (f"rank {peer.rank} runs plan {plan_hash or '(none)'} but the coordinator runs plan "
                    f"{self.plan_hash}: start every process with the same plan file")
        if peer.rank not in self.roles:
            return f"rank {peer.rank} is not in the plan, whose ranks are 0 to {len(self.roles) - 1}"
        if peer.rank in self.peers:
            return (f"rank {peer.rank} registered twice: at {self.peers[peer.rank].address} and at "
                    f"{peer.address}; each rank must run once")
        expected = role_name(self.roles[peer.rank])
        if peer.role != expected:
            return f"rank {peer.rank} says it is a {peer.role!r} but the plan makes it a {expected!r}"
        return None

    def _known(self, rank: int) -> None:
        if rank not in self.roles:
            raise SingaError(f"rank {rank} is not in the plan, whose ranks are 0 to {len(self.roles) - 1}")

    def _registration_over(self) -> None:
        """Stop the job once the registration deadline passes with ranks missing."""
        if len(self.peers) < len(self.roles) and self.clock() > self.deadline:
            missing = [describe(self.roles[r]) for r in sorted(set(self.roles) - set(self.peers))]
            self._stop(f"these ranks did not register in time: {'; '.join(missing)}")

    def _check_silence(self) -> None:
        """Stop the job when a registered rank has been silent for more than silence_s."""
        if self.reason or self.done or not self.seen:
            return
        now = self.clock()
        for rank, last in sorted(self.seen.items()):
            if now - last > self.silence_s:
                self._stop(f"lost {describe(self.roles[rank])}: no heartbeat for {now - last:.1f} s")
                return

    def _check(self) -> None:
        self._check_silence()
        if self.reason:
            raise Stopped(self.reason)

    def _stop(self, reason: str) -> None:
        if self.reason is None:  # the first reason is the cause; later ones are its effects
            self.reason = reason
        self._changed.notify_all()

    def _wait(self, ready: Callable[[], bool], also: Callable[[], None] = lambda: None) -> None:
        """Wait (holding the condition) until `ready()`, checking for lost ranks while it waits."""
        while not ready():
            self._check()
            also()
            self._check()
            self._changed.wait(WAKE_S)


def merge(reports: list[pb.MetricsRequest]) -> dict[str, tuple[float, int]]:
    """{metric: (sum, count)} over the processes' reports, summed in the order given."""
    out: dict[str, tuple[float, int]] = {}
    for report in reports:
        for metric in report.metrics:
            total, count = out.get(metric.name, (0.0, 0))
            out[metric.name] = (total + metric.sum, count + report.count)
    return out


class CoordinatorServicer:
    """The Coordinator service over a Coordinator: decode, call, encode; a stopped job is ABORTED."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator

    def Register(self, request: Framed, context: Any) -> Framed:
        h = request.header
        peers = _answer(context, lambda: self.coordinator.register(h.peer, h.plan_hash))  # type: ignore[attr-defined]
        return Framed(pb.RegisterReply(peers=peers))

    def Barrier(self, request: Framed, context: Any) -> Framed:
        h = request.header
        value = _answer(context, lambda: self.coordinator.barrier(h.rank, h.name, h.value))  # type: ignore[attr-defined]
        return Framed(pb.BarrierReply(value=value))

    def Heartbeat(self, request: Framed, context: Any) -> Framed:
        reason = self.coordinator.heartbeat(request.header.rank)  # type: ignore[attr-defined]
        return Framed(pb.HeartbeatReply(stop=reason is not None, reason=reason or ""))

    def Metrics(self, request: Framed, context: Any) -> Framed:
        _answer(context, lambda: self.coordinator.metrics(request.header))  # type: ignore[arg-type]
        return Framed(pb.Ack())

    def Stop(self, request: Framed, context: Any) -> Framed:
        h = request.header
        self.coordinator.stop(h.rank, h.reason)  # type: ignore[attr-defined]
        return Framed(pb.Ack())


def _answer(context: Any, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Stopped as err:
        _abort(context, str(err))


def _abort(context: Any, reason: str) -> NoReturn:
    context.abort(grpc.StatusCode.ABORTED, reason)
    raise AssertionError("not reached: abort raises")


def threads_for(nranks: int) -> int:
    """Server threads a coordinator needs: each rank may block one call (Register or Barrier) while its
    heartbeats keep arriving, and a server that hosts other services needs its own on top."""
    return 2 * nranks + 8


def serve(coordinator: Coordinator, address: str, token: str,
          tls: TlsFiles | None = None) -> tuple[grpc.Server, str]:
    """An unstarted server for the coordinator alone on `address` (port 0: any free one), and its address."""
    server, (bound,) = build_server([address], token, tls, threads=threads_for(len(coordinator.roles)))
    add_service(server, "Coordinator", CoordinatorServicer(coordinator))
    return server, bound
