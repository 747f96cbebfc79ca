"""Bytes one train step moves: gradients pushed to servers and fresh values pulled back (per worker and per
server), bridge bytes between workers, and the deltas server groups exchange.

Each step every worker pushes the gradient of each param (or block of one) its nodes use to the servers that
own the slices it overlaps, and pulls the updated values of the same floats. Under data partitioning that is
every param on every worker; under feature partitioning only a worker's blocks. A server receives from the
workers of every worker group its server group serves. Under Distributed Hogwild each non-master server
group sends a slice's delta to the master group and gets its values back once every `sync_freq` updates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from singa_proto import plan_pb2

BYTES_PER_ELEMENT = 4  # every tensor is float32


@dataclass
class Traffic:
    """Bytes per step; `push[(worker, server)]` is what a worker of the drawn group sends that server."""

    push: dict[tuple[int, int], int] = field(default_factory=dict)
    bridges: dict[tuple[int, int], int] = field(default_factory=dict)  # (sender, receiver) -> bytes
    groups_per_server_group: int = 1  # worker groups each server group serves
    sync: int = 0  # between server groups, all of them together, averaged over sync_freq

    def worker_push(self, worker: int) -> int:
        """Gradient bytes `worker` sends to servers; it pulls as many bytes of fresh values back."""
        return sum(n for (w, _), n in self.push.items() if w == worker)

    def server_in(self, server: int) -> int:
        """Gradient bytes `server` receives from the workers of every group it serves; it sends as many back."""
        return sum(n for (_, s), n in self.push.items() if s == server) * self.groups_per_server_group

    @property
    def workers(self) -> list[int]:
        return sorted({w for w, _ in self.push})

    @property
    def servers(self) -> list[int]:
        return sorted({s for _, s in self.push})

    @property
    def params_bytes(self) -> int:
        """Push plus pull of the drawn group's workers."""
        return 2 * sum(self.push.values())

    @property
    def bridge_bytes(self) -> int:
        return sum(self.bridges.values())


def param_traffic(plan: plan_pb2.PlanProto, graph: plan_pb2.PhaseGraph) -> Traffic:
    """Push bytes per (worker, server) of a train graph, and the server groups' sync bytes."""
    entries = {e.name: e for e in plan.params}
    uses = {(n.worker, ref.param, block_key(ref)) for n in graph.nodes for ref in n.params}
    push: dict[tuple[int, int], int] = {}
    for worker, name, block in sorted(uses):
        entry = owner_entry(entries, name)
        for s in entry.slices:
            n = overlap(tuple(entry.shape), block, s.offset, s.offset + s.size) * BYTES_PER_ELEMENT
            if n:
                push[(worker, s.server)] = push.get((worker, s.server), 0) + n
    c = plan.topology.cluster
    groups = max(c.nserver_groups, 1)
    return Traffic(push=push, groups_per_server_group=max(c.nworker_groups // groups, 1),
                   sync=sync_bytes(plan, groups, max(c.sync_freq, 1)))


def block_key(ref: plan_pb2.ParamRef) -> tuple[int, int, int] | None:
    """(axis, begin, end) of a block of a param, or None for the whole param."""
    return (ref.block.axis, ref.block.begin, ref.block.end) if ref.HasField("block") else None


def owner_entry(entries: dict[str, plan_pb2.ParamEntry], name: str) -> plan_pb2.ParamEntry:
    """The entry whose slices hold `name`'s values (a share's owner)."""
    entry = entries[name]
    while not entry.slices and entry.share_from in entries:
        entry = entries[entry.share_from]
    return entry


def overlap(shape: tuple[int, ...], block: tuple[int, int, int] | None, start: int, stop: int) -> int:
    """Floats of `block` of a param of `shape` that lie in [start, stop) of the flattened param."""
    if block is None:
        return max(min(stop, math.prod(shape)) - max(start, 0), 0)
    axis, begin, end = block
    inner = math.prod(shape[axis + 1:])
    period, low, length = shape[axis] * inner, begin * inner, (end - begin) * inner

    def before(x: int) -> int:  # floats of the block in [0, x): whole periods, then part of one
        return (x // period) * length + min(max(x % period - low, 0), length)

    return before(stop) - before(start)


def sync_bytes(plan: plan_pb2.PlanProto, groups: int, sync_freq: int) -> int:
    """Bytes per step between server groups: each non-master group's delta out and values back."""
    if groups < 2:
        return 0
    floats = sum(s.size for e in plan.params for s in e.slices)
    return 2 * floats * BYTES_PER_ELEMENT * (groups - 1) // sync_freq


def bridge_traffic(edges: list[tuple[int, int, int, int]]) -> dict[tuple[int, int], int]:
    """(sender, receiver) -> bytes from crossing edges (src worker, dst worker, activation bytes,
    directions: 2 when its gradient comes back the other way)."""
    out: dict[tuple[int, int], int] = {}
    for src, dst, nbytes, directions in edges:
        out[(src, dst)] = out.get((src, dst), 0) + nbytes
        if directions == 2:
            out[(dst, src)] = out.get((dst, src), 0) + nbytes
    return out
