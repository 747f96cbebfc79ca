"""One rank of a multi-process run: its one gRPC server (Params for its server executors, Bridges when
it hosts workers, Coordinator on rank 0), its registration and heartbeats, and the client that reaches
the servers of other ranks.

Every service of a rank shares one server and one port, so the address book needs one address per rank.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TextIO

import grpc
from singa_proto import plan_pb2

from .. import SingaError
from ..launch.rank import Rank
from ..params.shard import Shard
from ..store import init_values
from ..transport import TlsFiles, add_service, build_server
from ..transport.server import LOOPBACK, split_address
from ..worker import available_cores, set_kernel_threads
from .bridges_rpc import Inbox, InboxServicer, Link, links_for
from .coordinator import REGISTER_S, Coordinator, CoordinatorServicer, OnMetrics, threads_for
from .params_rpc import (
    GrpcParamClient,
    ParamsServicer,
    connect_masters,
    hosted_servers,
    local_shards,
    params_threads,
    server_addresses,
)
from .peer import COORDINATOR_RANK, Peer
from .roles import AddressBook, role_table

LINGER_S = 2.5  # rank 0 and servers serve this long after a stop: the others hear why in their next heartbeat
CLOSE_GRACE_S = 2.0  # rank 0 lets calls under way finish this long as it closes: the last barrier's replies


HOST_ENV = "SINGA_HOST"  # the address a rank listens on, when the one that reaches the master will not do
REGISTER_ENV = "SINGA_REGISTER_TIMEOUT"  # seconds the ranks have to register (default REGISTER_S)


def register_timeout() -> float:
    """How long rank 0 waits for every rank to register, and the others for rank 0: SINGA_REGISTER_TIMEOUT
    seconds, else REGISTER_S."""
    text = os.environ.get(REGISTER_ENV, "")
    try:
        seconds = float(text) if text else REGISTER_S
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise SingaError(f"{REGISTER_ENV}={text!r} is not a number of seconds above 0")
    return seconds


def own_host(master: str) -> str:
    """The address this process listens on: SINGA_HOST when set, loopback when the master is on it, else
    this machine's address on the route to the master (a UDP connect picks it and sends nothing). Never
    a wildcard address: peers must reach it, and nothing else should."""
    if os.environ.get(HOST_ENV):
        return os.environ[HOST_ENV]
    host = split_address(master)[0].strip("[]")
    if host == "localhost" or ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        return LOOPBACK
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((host, 9))
        return str(s.getsockname()[0])


def host_key(host: str) -> str:
    """A listening host as one machine is known by: its address (a name resolved, brackets off)."""
    host = host.strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host.lower()  # a name that does not resolve here: compared as written


def rank_cores(addresses: Mapping[int, str], rank: int, cores: int) -> int:
    """The kernel threads of `rank`: the `cores` of its host shared by the job's ranks that listen on
    that host (from the address book), never by ranks on other machines."""
    keys = {r: host_key(split_address(a)[0]) for r, a in addresses.items()}
    return max(1, cores // sum(k == keys[rank] for k in keys.values()))


def role_words(role: plan_pb2.ProcessRole) -> str:
    """`workers g0:0,1 servers g0:0`: the executors of a rank, grouped by group (the start line's ROLE)."""
    parts = []
    for kind, executors in (("workers", role.workers), ("servers", role.servers)):
        groups: dict[int, list[int]] = {}
        for e in executors:
            groups.setdefault(e.group, []).append(e.id)
        if groups:
            parts.append(kind + " " + " ".join(f"g{g}:{','.join(map(str, sorted(ids)))}"
                                               for g, ids in sorted(groups.items())))
    return " ".join(parts) or "idle"


class Node:
    """This rank's server, coordinator (rank 0), peer, shards and bridges inbox, set up and registered."""

    def __init__(self, plan: plan_pb2.PlanProto, found: Rank, token: str,
                 on_metrics: OnMetrics | None = None, reporters: set[int] | None = None,
                 err: TextIO | None = None, tls: TlsFiles | None = None) -> None:
        self.plan, self.rank, self.token, self.tls = plan, found.rank, token, tls
        self.err = err if err is not None else sys.stderr
        self.role = role_table(plan)[self.rank]
        self.register_s = register_timeout()
        phases = dict.fromkeys(("train", "validation", "test"), reporters) if reporters is not None else None
        self.coordinator = (Coordinator(plan, on_metrics=on_metrics, reporters=phases, register_s=self.register_s)
                            if self.rank == COORDINATOR_RANK else None)
        # a rank with workers draws every param's initial values once, for its workers and its servers
        self.values = init_values(plan) if self.role.workers else None
        self.shards: dict[tuple[int, int], Shard] = local_shards(plan, hosted_servers(plan, self.rank), self.values)
        self.inbox = Inbox()
        master = found.master
        if master is None:
            raise SingaError(f"rank {self.rank}: no rendezvous address: set SINGA_MASTER=HOST:PORT "
                             "(the address rank 0 listens on) for every process")
        self.master = master
        # rank 0 listens where the launcher said the rendezvous is; the others on a free port of the
        # address through which they reach it (loopback for a job on this machine)
        address = master if self.rank == COORDINATOR_RANK else f"{own_host(master)}:0"
        self.server, self.address = self._serve(address)
        self.say(f"rank {self.rank} role {role_words(self.role)} listening on {self.address}")
        self.peer = Peer(plan, self.rank, self.address, master, token, tls)
        self.book: AddressBook | None = None
        self.cores = available_cores()  # once registered, this rank's share of its host's cores
        self.links: dict[int, Link] = {}

    def say(self, line: str) -> None:
        """A line on stderr (the launcher puts the rank in front)."""
        print(line, file=self.err, flush=True)

    def _serve(self, address: str) -> tuple[grpc.Server, str]:
        """Start the one server of this rank with the services its role needs."""
        threads = params_threads(self.plan, self.shards) + threads_for(len(self.plan.roles))
        server, (bound,) = build_server([address], self.token, self.tls, threads=threads)
        if self.shards:
            add_service(server, "Params", ParamsServicer(self.plan, self.shards))
        if self.role.workers:
            add_service(server, "Bridges", InboxServicer(self.inbox))
        if self.coordinator is not None:
            add_service(server, "Coordinator", CoordinatorServicer(self.coordinator))
        server.start()
        return server, bound

    def join(self) -> AddressBook:
        """Register, wait for every rank, take this rank's share of its host's cores, start the heartbeats,
        connect to the other ranks."""
        self.book = book = self.peer.register(self.register_s)
        self.cores = rank_cores(book.addresses, self.rank, available_cores())
        set_kernel_threads(self.cores)
        self.peer.start_heartbeats()
        connect_masters(self.shards, server_addresses(self.plan, book.addresses), self.token, self.tls)
        if self.role.workers:
            self.links = links_for(self.rank, book.addresses, self.token, self.tls)
        return book

    def client(self) -> GrpcParamClient:
        """A ParamClient that reaches every server executor of the plan."""
        assert self.book is not None
        return GrpcParamClient(self.plan, server_addresses(self.plan, self.book.addresses), self.token, self.tls)

    def watch(self, on_stop: Callable[[str], None]) -> None:
        """Call on_stop(reason) from a thread as soon as the coordinator says the job stops."""
        def wait() -> None:
            self.peer.stopped.wait()
            if self.serves_others():
                time.sleep(LINGER_S)
            on_stop(self.peer.reason)
        threading.Thread(target=wait, name="stop-watch", daemon=True).start()

    def serves_others(self) -> bool:
        """Whether other ranks call this one's server for more than bridges (coordinator, params): it then
        serves a while after a stop, so that they hear the reason from the coordinator, not a dead server."""
        return self.rank == COORDINATOR_RANK or bool(self.shards)

    def stop_reason(self) -> str | None:
        """Why the job stops, when this rank knows it does (rank 0 knows first)."""
        if self.coordinator is not None and self.coordinator.reason:
            return self.coordinator.reason
        return self.peer.reason if self.peer.stopped.is_set() else None

    def updates(self) -> dict[str, dict[int, int]]:
        """Updates applied so far to each slice this rank serves, `GROUP:PARAM/SLICE` -> {worker group: n}."""
        return {f"{g}:{name}/{i}": shard.updates(name, i)
                for (g, _), shard in self.shards.items() for name, i in shard.held}

    def syncs(self) -> dict[str, int]:
        """Hogwild syncs so far of each slice this rank serves, `GROUP:PARAM/SLICE` -> n."""
        return {f"{g}:{name}/{i}": shard.syncs(name, i) for (g, _), shard in self.shards.items()
                for name, i in shard.held}

    def close(self) -> None:
        """Stop serving (the caller has passed the last barrier or is ending on a stop)."""
        for link in self.links.values():
            link.close()
        # the rank that arrived last at the final barrier may not have its reply yet when rank 0 leaves it
        self.server.stop(CLOSE_GRACE_S if self.coordinator is not None else 0).wait()
