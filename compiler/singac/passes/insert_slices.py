"""Insert slice and concat nodes so that every consumer gets exactly the block of its input it needs.

A slice `<src>[rows,cols]` cuts a block out of a producer's output, on the producer's worker (so only
that block travels); a concat `<origin>><consumer>` joins the pieces a consumer needs from several
producer partitions, on the consumer's worker, along the producer's partition axis.
"""
from __future__ import annotations

from collections import defaultdict

import networkx as nx
from singa_proto import plan_pb2

from ..blocks import Block, block_shape, describe, normal
from ..graph import with_graph_attrs


def insert_slices(g: nx.DiGraph) -> nx.DiGraph:
    """Return a graph where every edge delivers its producer's whole output, one edge per input slot."""
    todo = [t for t in g.nodes if _needs_work(g, t)]
    if not todo:
        return with_graph_attrs(g, sliced=True)
    g = g.copy()
    g.graph["sliced"] = True
    for t in todo:
        for slot, srcs in sorted(_by_slot(g, t).items()):
            pieces = [_fit(g, s, t) for s in srcs]
            if len(pieces) > 1:
                _concat(g, pieces, t, slot)
    return g


def _by_slot(g: nx.DiGraph, t: str) -> dict[int, list[str]]:
    by_slot: dict[int, list[str]] = defaultdict(list)
    for s in g.predecessors(t):
        by_slot[g.edges[s, t]["slot"]].append(s)
    return by_slot


def _needs_work(g: nx.DiGraph, t: str) -> bool:
    """Whether some input slot of `t` has several pieces, or a piece that is not a whole output."""
    slots = set()
    for s in g.predecessors(t):
        e, d = g.edges[s, t], g.nodes[s]
        if e["slot"] in slots:
            return True
        if e["need"] != d["block"] and normal(e["need"], d["origin_shape"]) != normal(d["block"], d["origin_shape"]):
            return True
        slots.add(e["slot"])
    return False


def _fit(g: nx.DiGraph, s: str, t: str) -> str:
    """The node that delivers exactly the block `t` needs from `s`: `s` itself or a slice of it."""
    d, e = g.nodes[s], g.edges[s, t]
    shape = d["origin_shape"]
    need, own = normal(e["need"], shape), normal(d["block"], shape)
    if need == own:
        return s
    name = f"{s}{describe(need, shape)}"
    if name not in g:
        axis = next(a for a in need if need.get(a) != own.get(a))
        lo = own.get(axis, (0, shape[axis]))[0]
        cut = plan_pb2.Range(axis=axis, begin=need[axis][0] - lo, end=need[axis][1] - lo)
        g.add_node(name, **_carry(d), kind="slice", type="kSlice", block=need,
                   shape=block_shape(need, shape), cut=cut, sub=d.get("sub", 0) + 2)
        g.add_edge(s, name, slot=0, need=own, recurrent=False)
    attrs = dict(e)
    g.remove_edge(s, t)
    g.add_edge(name, t, **attrs)
    return name


def _concat(g: nx.DiGraph, pieces: list[str], t: str, slot: int) -> None:
    first = g.nodes[pieces[0]]
    shape = first["origin_shape"]
    axis = first["partition_dim"]
    pieces.sort(key=lambda p: g.nodes[p]["block"].get(axis, (0, 0))[0])
    block = _union([g.nodes[p]["block"] for p in pieces], axis, shape)
    name = f"{first['origin']}>{t}"
    if name in g:  # several slots fed by one origin: an unrolled layer's copies into its kStack
        name = f"{name}#{slot}"
    attrs = g.edges[pieces[0], t]
    dt = g.nodes[t]
    g.add_node(name, **{**_carry(dt), "origin": first["origin"], "origin_shape": shape}, kind="concat",
               type="kConcate", axis=axis, block=block, shape=block_shape(block, shape),
               sub=dt.get("sub", 0) - 1)
    for i, p in enumerate(pieces):
        g.remove_edge(p, t)
        g.add_edge(p, name, slot=i, need=dict(g.nodes[p]["block"]), recurrent=False)
    g.add_edge(name, t, slot=slot, need=block, recurrent=attrs.get("recurrent", False))


def _union(blocks: list[Block], axis: int, shape: tuple[int, ...]) -> Block:
    lo = min(b.get(axis, (0, shape[axis]))[0] for b in blocks)
    hi = max(b.get(axis, (0, shape[axis]))[1] for b in blocks)
    out = {a: r for a, r in blocks[0].items() if a != axis}
    out[axis] = (lo, hi)
    return normal(out, shape)


def _carry(d: dict) -> dict:
    """The attributes a connection node inherits from the node it serves."""
    keep = ("origin", "origin_shape", "worker", "partition_id", "partition_dim", "num_partitions", "order")
    return {k: d[k] for k in keep}
