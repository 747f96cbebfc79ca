"""Insert bridge pairs: every edge whose two ends sit on different workers becomes
producer -> bridge_src (producer's worker) -> bridge_dst (consumer's worker) -> consumer.
"""
from __future__ import annotations

import networkx as nx

from ..graph import with_graph_attrs


def insert_bridges(g: nx.DiGraph) -> nx.DiGraph:
    """Return a graph where only bridge_src -> bridge_dst edges cross workers."""
    todo = [(u, v) for u, v in g.edges
            if g.nodes[u]["worker"] != g.nodes[v]["worker"] and g.nodes[u]["kind"] != "bridge_src"]
    if not todo:
        return with_graph_attrs(g, bridged=True)
    g = g.copy()
    g.graph["bridged"] = True
    for u, v in todo:
        _bridge(g, u, v)
    return g


def _bridge(g: nx.DiGraph, u: str, v: str) -> None:
    e = dict(g.edges[u, v])
    du = g.nodes[u]
    src, dst = f"{u}->{v}.src", f"{u}->{v}.dst"
    common = {k: du[k] for k in ("origin", "origin_shape", "block", "shape", "partition_id",
                                 "partition_dim", "num_partitions")}
    g.add_node(src, **common, kind="bridge_src", type="kBridgeSrc", worker=du["worker"], peer=dst,
               order=du["order"], sub=du.get("sub", 0) + 3)
    dv = g.nodes[v]
    g.add_node(dst, **common, kind="bridge_dst", type="kBridgeDst", worker=dv["worker"], peer=src,
               order=dv["order"], sub=dv.get("sub", 0) - 2)
    g.remove_edge(u, v)
    g.add_edge(u, src, slot=0, need=e["need"], recurrent=False)
    g.add_edge(src, dst, slot=0, need=e["need"], recurrent=False)
    g.add_edge(dst, v, **e)
