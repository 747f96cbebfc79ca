"""What each rank of a plan hosts, in words (for log lines and errors) and as the address book every
process gets once all have registered: rank -> address, and which rank hosts each worker and server."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from singa_proto import plan_pb2
from singa_proto import services_pb2 as pb

from .. import SingaError

Executor = tuple[int, int]  # (group, id)


def role_table(plan: plan_pb2.PlanProto) -> dict[int, plan_pb2.ProcessRole]:
    """rank -> its role; the ranks must be exactly 0..n-1, each once."""
    table = {role.rank: role for role in plan.roles}
    if sorted(table) != list(range(len(plan.roles))):
        ranks = ", ".join(str(role.rank) for role in plan.roles)
        raise SingaError(f"the plan's role table names ranks {ranks}, not 0 to {len(plan.roles) - 1} once each; "
                         "compile it again")
    return table


def role_name(role: plan_pb2.ProcessRole) -> str:
    """`worker`, `server`, `worker+server` (or `idle`): the ROLE of `rank R role ROLE listening on ...`."""
    kinds = [kind for kind, executors in (("worker", role.workers), ("server", role.servers)) if executors]
    return "+".join(kinds) or "idle"


def describe(role: plan_pb2.ProcessRole) -> str:
    """`rank 1, worker (group 0, id 1)`: a rank and every executor it hosts, for error lines."""
    parts = [f"{kind} " + " ".join(f"(group {e.group}, id {e.id})" for e in executors)
             for kind, executors in (("worker", role.workers), ("server", role.servers)) if executors]
    return f"rank {role.rank}, " + (" + ".join(parts) or "idle")


@dataclass(frozen=True)
class AddressBook:
    """Where every rank listens and which rank hosts each executor of the plan."""

    addresses: dict[int, str]
    roles: dict[int, str]
    workers: dict[Executor, int]
    servers: dict[Executor, int]

    def as_dict(self) -> dict[str, dict[str, object]]:
        """The book with string keys (`group:id`), for JSON and comparisons across processes."""
        return {"addresses": {str(r): a for r, a in self.addresses.items()},
                "roles": {str(r): n for r, n in self.roles.items()},
                "workers": {f"{g}:{i}": r for (g, i), r in sorted(self.workers.items())},
                "servers": {f"{g}:{i}": r for (g, i), r in sorted(self.servers.items())}}


def address_book(plan: plan_pb2.PlanProto, peers: Iterable[pb.Peer]) -> AddressBook:
    """The book of a plan whose ranks registered as `peers` (the executors come from the plan's role
    table, which every process shares: the coordinator admits only processes of the same plan hash)."""
    table = role_table(plan)
    addresses = {p.rank: p.address for p in sorted(peers, key=lambda p: p.rank)}
    workers = {(e.group, e.id): rank for rank, role in table.items() for e in role.workers}
    servers = {(e.group, e.id): rank for rank, role in table.items() for e in role.servers}
    return AddressBook(addresses, {r: role_name(table[r]) for r in addresses}, workers, servers)
