"""Insert split nodes: a node whose output feeds several consumers gets one split node `<node>+`.

The split hands the same tensor to every consumer and, backwards, sums their gradients. Input and
parser layers take no gradient, so they feed several consumers directly (SINGA's kOneToMany).
"""
from __future__ import annotations

import networkx as nx
from singa_spec import spec_of

from ..graph import with_graph_attrs


def insert_splits(g: nx.DiGraph) -> nx.DiGraph:
    """Return a graph where only split, input and parser nodes have several consumers."""
    todo = [n for n, d in g.nodes(data=True) if d["kind"] != "split" and spec_of(d["type"]).grad
            and len(_forward_successors(g, n)) > 1]
    if not todo:
        return with_graph_attrs(g, split=True)
    g = g.copy()
    g.graph["split"] = True
    for n in todo:
        _split(g, n, _forward_successors(g, n))
    return g


def _forward_successors(g: nx.DiGraph, n: str) -> list[str]:
    return [v for v in g.successors(n) if not g.edges[n, v].get("recurrent")]


def _split(g: nx.DiGraph, n: str, outs: list[str]) -> None:
    d = g.nodes[n]
    name = f"{n}+"
    g.add_node(name, **{k: v for k, v in d.items() if k not in ("conf", "kind", "type", "params", "sub")},
               kind="split", type="kSplit", sub=d.get("sub", 0) + 1)
    for v in outs:
        attrs = g.edges[n, v]
        g.remove_edge(n, v)
        g.add_edge(name, v, **attrs)
    g.add_edge(n, name, slot=0, need=dict(d["block"]), recurrent=False)
