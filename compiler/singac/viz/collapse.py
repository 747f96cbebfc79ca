"""Collapse repeated partitions: every '<name>@NN' replica of a node becomes one node drawn 'x N'.

A picture collapses by itself when expanding it shows nothing more (every worker's column holds the same
nodes and no tensor crosses workers: pure data partitioning) or when it is too large to read expanded.
"""
from __future__ import annotations

import re
from dataclasses import replace

from .model import VEdge, View, VNode

# A partition number inside a node name ('conv1@03', '-:ip1@01'), and a block a slice cuts ('[0:16,16:32]').
PARTITION_TAG = re.compile(r"@\d+")
BLOCK_TAG = re.compile(r"\[[\d:,]+\]")
AUTO_COLLAPSE_NODES = 400  # more nodes than this and the picture is collapsed unless asked not to be


def group_key(node: VNode) -> str:
    """The collapsed node's name: the node's name with its partition numbers and blocks replaced by '*'."""
    return BLOCK_TAG.sub("[*]", PARTITION_TAG.sub("@*", node.name))


def collapse_view(view: View) -> View:
    """A view with one node per group of replicas and one edge per group of parallel edges."""
    key_of = {n.name: group_key(n) for n in view.nodes}
    groups: dict[str, VNode] = {}
    for node in view.nodes:
        key = key_of[node.name]
        seen = groups.get(key)
        groups[key] = merge_node(seen, node, key) if seen else replace(node, name=key)
    edges: dict[tuple[str, str, bool], VEdge] = {}
    for edge in view.edges:
        ends = (key_of[edge.src], key_of[edge.dst], edge.back)
        seen_edge = edges.get(ends)
        edges[ends] = merge_edge(seen_edge, edge) if seen_edge else replace(edge, src=ends[0], dst=ends[1])
    return replace(view, nodes=list(groups.values()), edges=list(edges.values()), collapsed=True)


def merge_node(into: VNode, node: VNode, key: str) -> VNode:
    """`into` with one more replica: its workers and params added."""
    workers = tuple(sorted(set(into.workers) | set(node.workers)))
    params = into.params + tuple(p for p in node.params if p not in into.params)
    return replace(into, name=key, workers=workers, params=params, count=into.count + 1)


def merge_edge(into: VEdge, edge: VEdge) -> VEdge:
    """`into` with one more parallel edge: bytes add up; the shape is kept when all agree."""
    shape = into.shape if into.shape == edge.shape else ()
    return replace(into, shape=shape, nbytes=into.nbytes + edge.nbytes, cross=into.cross or edge.cross,
                   count=into.count + 1)


def identical_columns(view: View) -> bool:
    """Whether 2+ workers hold the same nodes, up to partition numbers, and nothing crosses between them."""
    if len(view.workers) < 2 or any(e.cross for e in view.edges):
        return False
    columns: dict[int, list[str]] = {}
    for node in view.nodes:
        columns.setdefault(node.worker, []).append(group_key(node))
    first, *rest = (sorted(keys) for keys in columns.values())
    return all(keys == first for keys in rest)


def collapse_reason(view: View) -> str | None:
    """Why the picture of `view` is better collapsed ('4 identical workers'), or None."""
    if identical_columns(view):
        return f"{len(view.workers)} identical workers"
    if len(view.nodes) > AUTO_COLLAPSE_NODES:
        return f"{len(view.nodes)} nodes (over {AUTO_COLLAPSE_NODES})"
    return None
