"""Bridges between the workers of one group that live in different processes.

`RemoteChannels` has the interface the executor already uses (`connection.Channels`): `get(src_name)`
gives the bridge pair's channel, whose `forward` and `backward` mailboxes `put` and `get`. A pair whose
two ends run in this process keeps the by-reference hand-over of `connection.Channel`; a pair whose
other end runs in another process sends over the Bridges service (keyed by step, edge and direction)
and receives from this process's `Inbox`, which the `InboxServicer` fills.

A wait for a tensor from another process never hangs on a dead peer: every `probe` seconds without the
tensor, the peer's channel must be ready again within `probe` seconds, else the wait ends naming the
peer's rank, the bridge and the step.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc
import numpy as np
from singa_proto import plan_pb2
from singa_proto import services_pb2 as pb
from singa_spec.errors import SingaError

from ..connection import Aborted, Channel
from ..launch.hosts import same_host
from ..transport import Framed, Stub, TlsFiles, open_channel

Key = tuple[int, str, int]  # step, edge, direction
SHM_BYTES = 1 << 16  # same-host tensors from this size on go through shared memory, smaller ones inline
PROBE_S = 1.0  # seconds between liveness probes of a silent peer, and the time a probe may take
SEND_S = 120.0  # deadline of one Send: a stopped (not dead) peer must not hold a worker for ever


class Inbox:
    """The bridge tensors this process received and no worker took yet, keyed by step, edge and
    direction; a gradient may be None (the peer's consumer needed none)."""

    def __init__(self) -> None:
        self._ready: dict[Key, np.ndarray | None] = {}
        self._changed = threading.Condition()

    def put(self, key: Key, tensor: np.ndarray | None) -> None:
        with self._changed:
            if key in self._ready:
                raise SingaError(f"bridge {key[1]} step {key[0]}: a second tensor for the same direction")
            self._ready[key] = tensor
            self._changed.notify_all()

    def take(self, key: Key, check: Callable[[], None], every: float) -> np.ndarray | None:
        """The tensor for `key`; while it has not come, `check()` runs every `every` seconds (it raises
        to end the wait)."""
        with self._changed:
            while key not in self._ready:
                if not self._changed.wait(every) and key not in self._ready:
                    self._changed.release()  # a probe may take a while: let the servicer put meanwhile
                    try:
                        check()
                    finally:
                        self._changed.acquire()
            return self._ready.pop(key)

    def wake(self) -> None:
        """Make every waiting `take` run its check now (a channel set was aborted)."""
        with self._changed:
            self._changed.notify_all()


class InboxServicer:
    """The Bridges service of a worker process: Send puts the tensor (None without one) in the inbox."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def Send(self, request: Framed, context: Any) -> Framed:  # named as the RPC
        h = request.header
        self.inbox.put((h.step, h.edge, h.direction), request.tensor)  # type: ignore[attr-defined]
        return Framed(pb.Ack())


class Link:
    """This process's channel to the process of another rank."""

    def __init__(self, rank: int, address: str, token: str, tls: TlsFiles | None, same_host: bool) -> None:
        self.rank, self.address, self.same_host = rank, address, same_host
        self.channel = open_channel(address, token, tls)
        self.stub = Stub(self.channel, "Bridges")

    def send(self, key: Key, tensor: np.ndarray | None) -> None:
        """Send one bridge tensor (or a None gradient) to the peer's inbox."""
        step, edge, direction = key
        if tensor is not None and not isinstance(tensor, np.ndarray):
            raise SingaError(f"bridge {edge} step {step}: a {type(tensor).__name__} cannot cross processes "
                             f"(only tensors do); place both ends on one process")
        shm = self.same_host and tensor is not None and tensor.nbytes >= SHM_BYTES
        header = pb.BridgeTensor(step=step, edge=edge, direction=direction)  # type: ignore[arg-type]
        try:
            self.stub.call("Send", Framed(header, tensor), timeout=SEND_S, shm=shm)
        except grpc.RpcError as err:
            raise SingaError(f"bridge {edge} step {step}: {self.describe()} did not take the tensor: "
                             f"{err.code().name} {err.details()}") from None

    def alive(self, within: float) -> bool:
        """Whether the peer's server answers (its channel becomes ready) within `within` seconds."""
        try:
            grpc.channel_ready_future(self.channel).result(timeout=within)
        except grpc.FutureTimeoutError:
            return False
        return True

    def describe(self) -> str:
        return f"the worker process of rank {self.rank} at {self.address}"

    def close(self) -> None:
        self.channel.close()


class Sender:
    """One direction of a bridge pair whose receiving end is in another process."""

    def __init__(self, owner: RemoteChannels, link: Link, edge: str, direction: int) -> None:
        self.owner, self.link, self.edge, self.direction = owner, link, edge, direction

    def put(self, item: Any) -> None:
        self.link.send((self.owner.step, self.edge, self.direction), item)

    def get(self) -> Any:
        raise SingaError(f"bridge {self.edge}: this process sends on it, it does not receive")


class Receiver:
    """One direction of a bridge pair whose sending end is in another process."""

    def __init__(self, owner: RemoteChannels, link: Link, edge: str, direction: int) -> None:
        self.owner, self.link, self.edge, self.direction = owner, link, edge, direction

    def put(self, item: Any) -> None:
        raise SingaError(f"bridge {self.edge}: this process receives on it, it does not send")

    def get(self) -> Any:
        step = self.owner.step
        return self.owner.inbox.take((step, self.edge, self.direction), lambda: self._check(step),
                                     self.owner.probe)

    def _check(self, step: int) -> None:
        """End the wait when the group was aborted or the sending process is gone."""
        if self.owner.aborted.is_set():
            raise Aborted("another worker of the group failed")
        if not self.link.alive(self.owner.probe):
            what = "tensor" if self.direction == pb.kBridgeForward else "gradient"
            raise SingaError(f"bridge {self.edge} step {step}: {self.link.describe()} is gone; its {what} "
                             f"never came")


class RemoteChannels:
    """The bridge channels of one worker group whose workers are spread over processes.

    `homes` maps each worker id of the group to the rank of its process, `links` each other rank to its
    Link; `scope` keeps the edges of different groups and phases apart in the process's one inbox.
    `step` is the step the group runs now (the owner sets it before each step)."""

    def __init__(self, graph: plan_pb2.PhaseGraph, rank: int, homes: dict[int, int], links: dict[int, Link],
                 inbox: Inbox, scope: str = "", probe: float = PROBE_S) -> None:
        self.rank, self.homes, self.links, self.inbox = rank, homes, links, inbox
        self.scope, self.probe = scope, probe
        self.step = 0
        self.aborted = threading.Event()
        self._cond = threading.Condition()
        workers = {n.name: n.worker for n in graph.nodes}
        self._ends = {n.name: (n.worker, workers.get(n.peer, -1))
                      for n in graph.nodes if n.kind == plan_pb2.kBridgeSrcNode}
        self._channels: dict[str, Any] = {}

    def get(self, src_name: str) -> Any:
        """The channel of the bridge pair whose source node is `src_name`."""
        with self._cond:
            if src_name not in self._channels:
                self._channels[src_name] = self._make(src_name)
            return self._channels[src_name]

    def _make(self, src_name: str) -> Any:
        if src_name not in self._ends:
            raise SingaError(f"plan node {src_name}: not a bridge source of the graph")
        src, dst = (self._home(w) for w in self._ends[src_name])
        if src == dst:
            return Channel(self._cond, self.aborted)
        edge = self.scope + src_name
        if src == self.rank:
            return Pair(Sender(self, self._link(dst), edge, pb.kBridgeForward),
                        Receiver(self, self._link(dst), edge, pb.kBridgeBackward))
        return Pair(Receiver(self, self._link(src), edge, pb.kBridgeForward),
                    Sender(self, self._link(src), edge, pb.kBridgeBackward))

    def _home(self, worker: int) -> int:
        if worker not in self.homes:
            raise SingaError(f"worker {worker} of the group is placed on no process of the plan's roles")
        return self.homes[worker]

    def _link(self, rank: int) -> Link:
        if rank not in self.links:
            raise SingaError(f"no address for the worker process of rank {rank}")
        return self.links[rank]

    def abort(self) -> None:
        """Wake every waiting worker with `Aborted`, those waiting on other processes too."""
        with self._cond:
            self.aborted.set()
            self._cond.notify_all()
        self.inbox.wake()


class Pair:
    """A bridge pair's two directions, as `connection.Channel` has them."""

    def __init__(self, forward: Any, backward: Any) -> None:
        self.forward, self.backward = forward, backward


def links_for(rank: int, book: dict[int, str], token: str, tls: TlsFiles | None = None) -> dict[int, Link]:
    """A Link to every other rank of the address book (rank -> HOST:PORT)."""
    return {r: Link(r, a, token, tls, same_host(a))
            for r, a in book.items() if r != rank}

