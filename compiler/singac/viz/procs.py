"""Which process hosts which workers and servers (the plan's rank -> role table), and the bytes one train step
puts on the wire between processes.

A worker process's stub sums its workers' gradients of one group before they travel, so it pushes each param
float its workers use once per step, however many of them use it, and pulls the fresh values of the same
floats. A link inside one process (worker and server, two workers across a bridge, two server groups) hands
tensors over in memory: it costs nothing on the wire. Every worker group runs the train graph; validation
and test run on worker group 0 alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from singa_proto import plan_pb2

from .traffic import BYTES_PER_ELEMENT, block_key, overlap, owner_entry

Executor = tuple[int, int]  # (group, id within the group)
Block = tuple[int, int, int] | None


@dataclass
class Placement:
    """Rank -> the workers and servers it hosts, and the host it lands on (when a hosts file says)."""

    workers: dict[int, list[Executor]]
    servers: dict[int, list[Executor]]
    hosts: dict[int, str] = field(default_factory=dict)

    @property
    def ranks(self) -> list[int]:
        return sorted(set(self.workers) | set(self.servers))

    def worker_rank(self, group: int, worker: int) -> int:
        return next((r for r, ws in self.workers.items() if (group, worker) in ws), 0)

    def server_rank(self, group: int, server: int) -> int:
        return next((r for r, ss in self.servers.items() if (group, server) in ss), 0)

    def cross_host(self, a: int, b: int) -> bool:
        """Whether ranks `a` and `b` land on different hosts (never, without a hosts file)."""
        return bool(self.hosts) and self.hosts.get(a) != self.hosts.get(b)


def placement_of(plan: plan_pb2.PlanProto) -> Placement:
    """The plan's rank -> role table (a plan without one runs every executor in rank 0)."""
    if not plan.roles:
        c = plan.topology.cluster
        workers = [(g, w) for g in range(max(c.nworker_groups, 1)) for w in range(max(c.nworkers_per_group, 1))]
        servers = [(g, s) for g in range(max(c.nserver_groups, 1)) for s in range(max(c.nservers_per_group, 1))]
        return Placement({0: workers}, {0: servers})
    return Placement({r.rank: [(e.group, e.id) for e in r.workers] for r in plan.roles},
                     {r.rank: [(e.group, e.id) for e in r.servers] for r in plan.roles})


@dataclass
class ProcTraffic:
    """Bytes per step between processes; a key (a, a) is a link inside process a (nothing on the wire)."""

    push: dict[tuple[int, int], int] = field(default_factory=dict)  # (worker rank, server rank); pull as many back
    bridges: dict[tuple[int, int], int] = field(default_factory=dict)  # (sender rank, receiver rank)
    sync: dict[tuple[int, int], int] = field(default_factory=dict)  # (server rank, server rank), per direction

    def wire(self, a: int, b: int) -> int:
        """Bytes rank `a` sends rank `b`: pushes, pulls it answers, bridge tensors, Hogwild sync."""
        if a == b:
            return 0
        pair = (a, b)
        return self.push.get(pair, 0) + self.push.get((b, a), 0) + self.bridges.get(pair, 0) + self.sync.get(pair, 0)

    def total(self, ranks: list[int]) -> int:
        return sum(self.wire(a, b) for a in ranks for b in ranks)

    @property
    def params_wire(self) -> int:
        """Push plus pull between different processes."""
        return 2 * sum(n for (a, b), n in self.push.items() if a != b)

    @property
    def bridges_wire(self) -> int:
        return sum(n for (a, b), n in self.bridges.items() if a != b)

    @property
    def sync_wire(self) -> int:
        return sum(n for (a, b), n in self.sync.items() if a != b)


def process_traffic(plan: plan_pb2.PlanProto, graph: plan_pb2.PhaseGraph, where: Placement,
                    bridges: dict[tuple[int, int], int], train: bool) -> ProcTraffic:
    """Bytes per step per process pair, from the worker-level bridge bytes of one group's graph."""
    c = plan.topology.cluster
    groups = range(max(c.nworker_groups, 1)) if train else range(1)
    out = ProcTraffic()
    for g in groups:
        for (a, b), n in bridges.items():
            ra, rb = where.worker_rank(g, a), where.worker_rank(g, b)
            if ra != rb:
                add(out.bridges, (ra, rb), n)
    if train:
        out.push = push_by_process(plan, graph, where)
        out.sync = sync_by_process(plan, where)
    return out


def push_by_process(plan: plan_pb2.PlanProto, graph: plan_pb2.PhaseGraph, where: Placement) -> dict[tuple[int, int], int]:
    """(worker rank, server rank) -> gradient bytes the rank's stub pushes each step, summed over its workers."""
    entries = {e.name: e for e in plan.params}
    c = plan.topology.cluster
    push: dict[tuple[int, int], int] = {}
    for rank, executors in where.workers.items():
        for g in sorted({g for g, _ in executors}):
            mine = {w for gg, w in executors if gg == g}
            blocks: dict[str, set[Block]] = {}
            for node in graph.nodes:
                for ref in node.params if node.worker in mine else ():
                    blocks.setdefault(owner_entry(entries, ref.param).name, set()).add(block_key(ref))
            serving = server_group_of(g, c.nworker_groups, c.nserver_groups)
            for name, used in blocks.items():
                entry = entries[name]
                for s in entry.slices:
                    n = union_overlap(tuple(entry.shape), used, s.offset, s.offset + s.size) * BYTES_PER_ELEMENT
                    if n:
                        add(push, (rank, where.server_rank(serving, s.server)), n)
    return push


def sync_by_process(plan: plan_pb2.PlanProto, where: Placement) -> dict[tuple[int, int], int]:
    """(server rank, server rank) -> Hogwild sync bytes per step: a delta to each slice's master group and
    its values back, once every `sync_freq` steps, from every other server group."""
    c = plan.topology.cluster
    if c.nserver_groups < 2:
        return {}
    every: dict[tuple[int, int], int] = {}
    for entry in plan.params:
        for s in entry.slices:
            master = where.server_rank(s.master_group, s.server)
            for sg in range(c.nserver_groups):
                if sg != s.master_group:
                    other = where.server_rank(sg, s.server)
                    add(every, (other, master), s.size * BYTES_PER_ELEMENT)
                    add(every, (master, other), s.size * BYTES_PER_ELEMENT)
    return {pair: n // max(c.sync_freq, 1) for pair, n in every.items()}


def server_group_of(worker_group: int, nworker_groups: int, nserver_groups: int) -> int:
    """The server group that serves a worker group (SINGA: g / (nworker_groups / nserver_groups))."""
    per = max(1, max(1, nworker_groups) // max(1, nserver_groups))
    return min(worker_group // per, max(1, nserver_groups) - 1)


def union_overlap(shape: tuple[int, ...], blocks: set[Block], start: int, stop: int) -> int:
    """Floats of [start, stop) of the flattened param that lie in any of `blocks` (None: the whole param)."""
    if None in blocks:
        return overlap(shape, None, start, stop)
    if len({b[0] for b in blocks if b is not None}) == 1:
        return sum(overlap(shape, b, start, stop) for b in merge_blocks(blocks))
    mask = np.zeros(shape, dtype=bool)  # blocks along different axes: count the floats themselves
    for b in blocks:
        assert b is not None
        index: list[slice] = [slice(None)] * len(shape)
        index[b[0]] = slice(b[1], b[2])
        mask[tuple(index)] = True
    return int(mask.reshape(-1)[start:stop].sum())


def merge_blocks(blocks: set[Block]) -> list[Block]:
    """Blocks along one axis, overlapping or touching ones joined, so no float is counted twice."""
    merged: list[list[int]] = []
    for axis, begin, end in sorted(b for b in blocks if b is not None):
        if merged and begin <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], end)
        else:
            merged.append([axis, begin, end])
    return [(a, b, e) for a, b, e in merged]


def add(table: dict[tuple[int, int], int], key: tuple[int, int], n: int) -> None:
    table[key] = table.get(key, 0) + n
