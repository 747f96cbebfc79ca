"""A process's side of coordination: register and get the address book, ping the coordinator every
second from a thread, report metrics, meet at barriers, ask all to stop, and learn when to stop.

The training loop checks `peer.stopped` between steps; `peer.reason` then says why (the lost rank and
its role, or who asked). The heartbeat thread also notices a lost coordinator: when rank 0 stops
answering for as long as the coordinator would wait for any other rank."""
from __future__ import annotations

import threading
import time
from typing import Any

import grpc
from singa_proto import plan_pb2
from singa_proto import services_pb2 as pb

from .. import SingaError
from ..transport import Framed, Stub, TlsFiles, open_channel
from .coordinator import DONE, SILENCE_S, Stopped
from .roles import AddressBook, address_book, describe, role_name, role_table

BEAT_S = 1.0  # seconds between heartbeats
PROBE_S = 1.0  # while waiting for the coordinator, how often to look at why the connection fails
# how gRPC reports a connection that the TLS handshake ended: a failed handshake on our side, or the
# coordinator closing a plain-text connection that its TLS port will not take
HANDSHAKE_FAILED = ("handshake failed", "socket closed")
COORDINATOR_RANK = 0


class Peer:
    """One process of a job, talking to the coordinator at `coordinator` (HOST:PORT)."""

    def __init__(self, plan: plan_pb2.PlanProto, rank: int, address: str, coordinator: str, token: str,
                 tls: TlsFiles | None = None, *, beat_s: float = BEAT_S, silence_s: float = SILENCE_S) -> None:
        self.plan, self.rank, self.address, self.coordinator = plan, rank, address, coordinator
        self.roles = role_table(plan)
        self.beat_s, self.silence_s = beat_s, silence_s
        self.channel = open_channel(coordinator, token, tls)
        self.stub = Stub(self.channel, "Coordinator")
        self.stopped = threading.Event()
        self.reason = ""
        self._closing = threading.Event()
        self._beats: threading.Thread | None = None

    def register(self, timeout_s: float = 60.0) -> AddressBook:
        """Register this rank and wait for every other: the job's address book."""
        role = role_name(self.roles[self.rank]) if self.rank in self.roles else "idle"
        self._wait_for_coordinator(timeout_s)
        request = pb.RegisterRequest(peer=pb.Peer(rank=self.rank, role=role, address=self.address),
                                     plan_hash=self.plan.content_hash)
        reply = self._call("Register", request, timeout=timeout_s + 10)
        return address_book(self.plan, reply.peers)  # type: ignore[attr-defined]

    def _wait_for_coordinator(self, timeout_s: float) -> None:
        """Wait until the coordinator accepts our connection (it may start after this process); one that
        listens but fails the TLS handshake (TLS on one side only, or another CA's certificates) will not
        come round: that ends the wait at once."""
        ready = grpc.channel_ready_future(self.channel)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                ready.result(timeout=min(PROBE_S, max(0.0, deadline - time.monotonic())))
                return
            except grpc.FutureTimeoutError:
                pass
            refused = self._handshake_refused()
            if refused:
                ready.cancel()
                raise SingaError(f"rank {self.rank}: the coordinator at {self.coordinator} refused the "
                                 f"connection: {refused} (every process of the job needs --tls-cert, --tls-key "
                                 "and --tls-ca, with certificates of the same CA, or none of them)")
            if time.monotonic() >= deadline:
                ready.cancel()
                raise SingaError(f"rank {self.rank}: no coordinator at {self.coordinator} after {timeout_s:g} s")

    def _handshake_refused(self) -> str | None:
        """The last connection error when it is a failed TLS handshake (None while nothing listens)."""
        try:  # a call that does not wait for the connection fails with the channel's last error
            self.stub.call("Heartbeat", Framed(pb.HeartbeatRequest(rank=self.rank)), timeout=PROBE_S)
        except grpc.RpcError as err:
            details = " ".join((err.details() or "").split())  # type: ignore[attr-defined]
            if any(sign in details.lower() for sign in HANDSHAKE_FAILED):
                return details
        return None

    def start_heartbeats(self) -> None:
        """Ping the coordinator every beat_s seconds from a daemon thread until close()."""
        self._beats = threading.Thread(target=self._beat, name=f"heartbeat-{self.rank}", daemon=True)
        self._beats.start()

    def report(self, phase: str, step: int, sums: dict[str, float], count: int) -> None:
        """Send this process's metric sums over `count` batches of `phase` at `step`."""
        metrics = [pb.Metric(name=name, sum=value) for name, value in sums.items()]
        self._call("Metrics", pb.MetricsRequest(rank=self.rank, step=step, phase=phase, count=count,
                                                metrics=metrics))

    def barrier(self, name: str, value: int = 0) -> int:
        """Wait until every rank of the job has reached the barrier `name`; the largest `value` brought."""
        return int(self._call("Barrier", pb.BarrierRequest(rank=self.rank, name=name, value=value)).value)

    def stop(self, reason: str) -> None:
        """Ask every process of the job to stop."""
        self._stopped(f"{describe(self.roles[self.rank])} stopped the job: {reason}")
        self._call("Stop", pb.StopRequest(rank=self.rank, reason=reason))

    def finish(self) -> None:
        """The normal end: meet every rank at the last barrier (so no one takes the others' exit for a
        loss), then stop the heartbeats."""
        self.barrier(DONE)
        self.close()

    def close(self) -> None:
        """Stop the heartbeats and close the channel."""
        self._closing.set()
        if self._beats is not None and self._beats is not threading.current_thread():
            self._beats.join()
        self.channel.close()

    def _beat(self) -> None:
        last_answer = time.monotonic()
        while not self._closing.wait(self.beat_s):
            try:
                reply = self.stub.call("Heartbeat", Framed(pb.HeartbeatRequest(rank=self.rank)), timeout=self.beat_s)
            except grpc.RpcError:
                silent = time.monotonic() - last_answer
                if silent > self.silence_s and COORDINATOR_RANK in self.roles:
                    self._stopped(f"lost the coordinator, {describe(self.roles[COORDINATOR_RANK])}: "
                                  f"no answer from {self.coordinator} for {silent:.1f} s")
                continue
            last_answer = time.monotonic()
            if reply.header.stop:  # type: ignore[attr-defined]
                self._stopped(reply.header.reason)  # type: ignore[attr-defined]

    def _stopped(self, reason: str) -> None:
        if not self.stopped.is_set():  # the first reason is the cause
            self.reason = reason
            self.stopped.set()

    def _call(self, method: str, header: Any, timeout: float | None = None) -> Any:
        """One call; a stopped job raises Stopped (and sets `stopped`), a refusal SingaError."""
        try:
            return self.stub.call(method, Framed(header), timeout=timeout).header
        except grpc.RpcError as err:
            code, details = err.code(), err.details() or ""  # type: ignore[attr-defined]
            if code == grpc.StatusCode.ABORTED:
                self._stopped(details)
                raise Stopped(details) from None
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                raise SingaError(details) from None
            raise SingaError(f"rank {self.rank}: {method} at the coordinator {self.coordinator} failed: "
                             f"{code.name} {details}") from None
