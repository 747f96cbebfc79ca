"""The graph checker: invariants every pass must keep. Tests run it after every pass."""
from __future__ import annotations

import networkx as nx
from singa_spec import SPECS
from singa_spec.names import NODE_KINDS

from .blocks import block_shape, normal
from .graph import forward_view


class CheckError(AssertionError):
    """A broken graph invariant: a compiler bug, never a user error."""


def check_graph(g: nx.DiGraph) -> None:
    """Raise CheckError naming the first node or edge that breaks an invariant."""
    if not nx.is_directed_acyclic_graph(forward_view(g)):
        raise CheckError(f"cycle: {nx.find_cycle(forward_view(g))}")
    for n, d in g.nodes(data=True):
        _check_node(g, n, d)
    if g.graph.get("partitioned"):
        for u, v, e in g.edges(data=True):
            _check_edge(g, u, v, e)


def _check_node(g: nx.DiGraph, n: str, d: dict) -> None:
    if d.get("kind") not in NODE_KINDS:
        raise CheckError(f"{n}: unknown kind {d.get('kind')!r}")
    if d["kind"] == "compute" and d.get("type") not in SPECS:
        raise CheckError(f"{n}: unknown layer type {d.get('type')!r}")
    slots = sorted(e["slot"] for _, _, e in g.in_edges(n, data=True))
    if g.graph.get("sliced") and slots != list(range(len(slots))):
        raise CheckError(f"{n}: input slots {slots} are not 0..{len(slots) - 1}")
    if d["kind"] in ("slice", "split", "bridge_src", "bridge_dst") and g.in_degree(n) != 1:
        raise CheckError(f"{n}: a {d['kind']} node has {g.in_degree(n)} inputs, not 1")
    partitioned = g.graph.get("partitioned") and "shape" in d
    if partitioned and tuple(d["shape"]) != block_shape(d["block"], d["origin_shape"]):
        raise CheckError(f"{n}: shape {d['shape']} is not its block {d['block']} of {d['origin_shape']}")
    if d["kind"].startswith("bridge"):
        _check_bridge(g, n, d)
    if d["kind"] == "concat":
        _check_concat(g, n, d)


def _check_edge(g: nx.DiGraph, u: str, v: str, e: dict) -> None:
    du, dv = g.nodes[u], g.nodes[v]
    shape = du["origin_shape"]
    if g.graph.get("sliced") and normal(e["need"], shape) != normal(du["block"], shape):
        raise CheckError(f"{u} -> {v}: needs {e['need']} but {u} holds {du['block']}")
    crossing = g.graph.get("bridged") and du["worker"] != dv["worker"]
    if crossing and not (du["kind"] == "bridge_src" and dv["kind"] == "bridge_dst"):
        raise CheckError(f"{u} (worker {du['worker']}) -> {v} (worker {dv['worker']}) crosses "
                         "workers without a bridge pair")


def _check_bridge(g: nx.DiGraph, n: str, d: dict) -> None:
    peer = d.get("peer")
    if peer not in g or g.nodes[peer].get("peer") != n:
        raise CheckError(f"{n}: bridge peer {peer!r} is missing or not paired back")
    src, dst = (n, peer) if d["kind"] == "bridge_src" else (peer, n)
    if not g.has_edge(src, dst):
        raise CheckError(f"{src} -> {dst}: bridge pair without its edge")


def _check_concat(g: nx.DiGraph, n: str, d: dict) -> None:
    ins = sorted(g.predecessors(n), key=lambda s: g.edges[s, n]["slot"])
    axis = d["axis"]
    total = sum(g.nodes[s]["shape"][axis] for s in ins)
    if total != d["shape"][axis]:
        raise CheckError(f"{n}: inputs sum to {total} along axis {axis}, output has {d['shape'][axis]}")
