"""Partition layers over the workers of a group; replaces each layer node by its partition nodes.

A layer with partition_dim 0 (batch rows) or 1 (feature columns) becomes `<layer>@00 .. @NN`, one per
worker, each owning a block of the layer's output; partition_dim -1, or a `location`, keeps one node on
one worker. Each layer edge becomes edges between the partitions whose blocks overlap, labelled with the
block (`need`) the consumer partition wants from that producer partition. Adds the node attributes
partition_dim, partition_id, num_partitions, worker, block, origin_shape.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right

import networkx as nx
from singa_spec import spec_of
from singa_spec.layers import BATCH, FEATURES, ONE_TO_ONE

from ..blocks import Block, block_shape, intersect, ranges
from ..source import Source


def partition_layers(g: nx.DiGraph) -> nx.DiGraph:
    """Return the partitioned graph (unchanged when already partitioned)."""
    if g.graph.get("partitioned"):
        return g
    h = nx.DiGraph(**{**g.graph, "partitioned": True})
    parts = {layer: _partition(g, layer, h) for layer in g.nodes}
    begins = {layer: _begins(h, names) for layer, names in parts.items()}
    for s, t, e in g.edges(data=True):
        for ti in parts[t]:
            need = _need(h.nodes[ti], g.nodes[s]["shape"])
            for sj in _overlapping(parts[s], begins[s], need):
                block = intersect(need, h.nodes[sj]["block"], g.nodes[s]["shape"])
                if block is not None:
                    h.add_edge(sj, ti, slot=e["slot"], need=block, recurrent=e.get("recurrent", False))
    return h


def _begins(h: nx.DiGraph, parts: list[str]) -> tuple[int, list[int]]:
    """(partition axis, sorted block starts) of a layer's partitions; (-1, []) when it is whole."""
    axis = h.nodes[parts[0]]["partition_dim"]
    if len(parts) == 1 or axis < 0:
        return -1, []
    return axis, [h.nodes[p]["block"][axis][0] for p in parts]


def _overlapping(parts: list[str], begins: tuple[int, list[int]], need: Block) -> list[str]:
    """The producer partitions whose blocks may overlap `need` (by bisection: blocks are sorted)."""
    axis, starts = begins
    if axis < 0 or axis not in need:
        return parts
    lo, hi = need[axis]
    return parts[max(0, bisect_right(starts, lo) - 1):bisect_left(starts, hi)]


def _partition(g: nx.DiGraph, layer: str, h: nx.DiGraph) -> list[str]:
    d = g.nodes[layer]
    n = g.graph["num_partitions"]
    dim, worker = _resolve(g, layer, n)
    shape = d["shape"]
    if dim == -1 or n == 1:
        h.add_node(layer, **d, partition_dim=dim, partition_id=0, num_partitions=1, worker=worker,
                   block={}, origin_shape=shape)
        return [layer]
    cuts = _cuts(g, layer, dim, n)
    names = []
    for i, cut in enumerate(cuts):
        name = f"{layer}@{i:02d}"
        block: Block = {dim: cut}
        h.add_node(name, **{**d, "shape": block_shape(block, shape)}, partition_dim=dim, partition_id=i,
                   num_partitions=n, worker=i, block=block, origin_shape=shape)
        names.append(name)
    return names


def _resolve(g: nx.DiGraph, layer: str, n: int) -> tuple[int, int]:
    """(partition_dim, worker) of a layer, from its conf, the net default and `location`."""
    d, source = g.nodes[layer], g.graph["source"]
    conf = d["conf"]
    if conf.HasField("location"):
        return -1, _location(source, layer, conf.location, n, g.graph["phase"])
    explicit = conf.HasField("partition_dim")
    dim = conf.partition_dim if explicit else g.graph["job"].neuralnet.partition_dim
    if dim not in (-1, 0, 1):
        raise source.layer_error(layer, f"partition_dim must be -1, 0 or 1, got {dim}")
    if dim == FEATURES and not spec_of(d["type"]).features:
        if explicit:
            raise source.layer_error(layer, f"a {d['type']} layer cannot be partitioned on features "
                                     "(partition_dim 1); use 0 or -1")
        dim = -1  # the net's default of 1 does not apply to layers whose features cannot be cut
    if dim == 0 and _feeds_whole_parser(g, layer):
        cluster = g.graph["job"].cluster
        if explicit and cluster.nworkers_per_procs < cluster.nworkers_per_group:
            raise source.layer_error(layer, "partition_dim 0 would send its records to a parser that runs "
                                     "whole, in another process, and records cannot cross processes; "
                                     "use -1 (or leave it unset)")
        dim = -1  # records, unlike tensors, cannot cross processes: the reader runs where its parser does
    if dim == 0 and BATCH not in spec_of(d["type"]).dims:
        if explicit:
            raise source.layer_error(layer, f"a {d['type']} layer cannot be partitioned on the batch "
                                     "(partition_dim 0); use -1")
        dim = -1  # its rows are not its inputs' rows (e.g. kStack: every batch item's time steps)
    if dim == 0 and _joins_batches(d):
        if explicit:
            raise source.layer_error(layer, "a kConcate along dim 0 joins whole batches, so it cannot be "
                                     "partitioned on the batch (partition_dim 0): a worker's rows of the "
                                     "joined batch are not its rows of each input; use -1")
        dim = -1  # the net's default of 0 does not apply: the join runs whole, its consumers get rows
    if dim == 0 and len(d["shape"]) < 1:
        dim = -1
    return dim, 0


def _feeds_whole_parser(g: nx.DiGraph, layer: str) -> bool:
    """Whether a data layer feeds a parser that cannot be batch-partitioned (kTokens' B*T rows)."""
    if spec_of(g.nodes[layer]["type"]).grad or g.in_degree(layer):
        return False
    return any(BATCH not in spec_of(g.nodes[c]["type"]).dims for c in g.successors(layer))


def _joins_batches(d: dict) -> bool:
    """A declared kConcate along dim 0 stacks its inputs' batches into one taller batch."""
    return d["type"] == "kConcate" and d["conf"].concate_conf.concate_dim == 0


def _location(source: Source, layer: str, location: int, n: int, phase: str) -> int:
    if phase != "train":
        return 0  # test and validation nets run whole on worker 0, as in SINGA
    if not 0 <= location < n:
        raise source.layer_error(layer, f"location {location} is not a worker of the group "
                                 f"(nworkers_per_group is {n}, so 0..{n - 1})")
    return location


def _cuts(g: nx.DiGraph, layer: str, dim: int, n: int) -> list[tuple[int, int]]:
    d, shape = g.nodes[layer], g.nodes[layer]["shape"]
    if dim >= len(shape):
        raise g.graph["source"].layer_error(layer, f"output {list(shape)} has no dim {dim} to partition")
    if shape[dim] < n:
        raise g.graph["source"].layer_error(layer, f"dim {dim} of output {list(shape)} has fewer than "
                                            f"{n} rows/features to share among {n} workers")
    if dim == 1 and shape[1] % n:
        raise g.graph["source"].layer_error(
            layer, f"{spec_of(d['type']).feature_field} {shape[1]} does not divide evenly into "
            f"{n} partitions")
    return ranges(shape[dim], n)


def _need(consumer: dict, src_shape: tuple[int, ...]) -> Block:
    """The block of its source's output that one consumer partition needs."""
    dim, block = consumer["partition_dim"], consumer["block"]
    if dim == 0 or (dim == FEATURES and spec_of(consumer["type"]).connection == ONE_TO_ONE):
        return {a: r for a, r in block.items() if a < len(src_shape)}
    return {}
