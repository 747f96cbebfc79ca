"""Slice params over the servers of a group for balance (SINGA v0.1's LCM slicing).

With lcm = LCM(nserver_groups, nservers_per_group), the owned params (shares excluded) are cut into
slices of about total/lcm floats (a param that fits within 10 % more stays whole). Slices go to servers
in contiguous runs of about total/nservers_per_group floats, and to master server groups likewise.
Adds `slices` [(slice_id, offset, size, server, master_group)] to the param table's owner entries.
"""
from __future__ import annotations

import math

import networkx as nx

from ..graph import with_graph_attrs


def slice_params(g: nx.DiGraph) -> nx.DiGraph:
    """Return the graph with its param table's owner params sliced over servers."""
    cluster = g.graph["job"].cluster
    table = {k: dict(v) for k, v in g.graph["params"].items()}
    owners = [e for e in table.values() if e["owner"] == e["name"]]
    sizes = [math.prod(e["shape"]) for e in owners]
    lcm = math.lcm(cluster.nserver_groups, cluster.nservers_per_group)
    pieces = _cut(sizes, lcm)
    servers = _assign([s for _, _, s in pieces], cluster.nservers_per_group)
    groups = _assign([s for _, _, s in pieces], cluster.nserver_groups)
    for e in owners:
        e["slices"] = []
    for sid, ((pi, offset, size), server, group) in enumerate(zip(pieces, servers, groups)):
        owners[pi]["slices"].append((sid, offset, size, server, group))
    return with_graph_attrs(g, params=table)


def _cut(sizes: list[int], parts: int) -> list[tuple[int, int, int]]:
    """(param index, offset, size) slices of about sum(sizes)/parts floats each."""
    total = sum(sizes)
    if total == 0:
        return []
    target = max(1, -(-total // parts))
    out, room = [], target
    for i, size in enumerate(sizes):
        offset = 0
        while offset < size:
            left = size - offset
            take = left if left <= room + target // 10 else room
            out.append((i, offset, take))
            offset += take
            room -= take
            if room <= 0:
                room = target
    return out


def _assign(sizes: list[int], bins: int) -> list[int]:
    """Give each slice to one of `bins` in contiguous runs of about equal total size."""
    total = sum(sizes) or 1
    out, done = [], 0
    for size in sizes:
        mid = done + size / 2
        out.append(min(bins - 1, int(mid * bins // total)))
        done += size
    return out
