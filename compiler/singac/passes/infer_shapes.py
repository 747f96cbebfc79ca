"""Infer every layer's full (unpartitioned) output shape; adds the node attribute `shape`.

Shapes come from the data layer's batch size and record shape (the shard's first record, or
`sharddata_conf.shape` when the shard is absent), then flow through each kind's shape rule (its spec).
"""
from __future__ import annotations

from numbers import Integral
from typing import Any

import networkx as nx
from singa_spec import spec_of
from singa_spec.layers import BUILT_IN
from singa_spec.shapes import Shape, ShapeError, fits

from ..graph import execution_order, forward_view
from ..shard import first_record_shape
from ..source import Source


def infer_shapes(g: nx.DiGraph) -> nx.DiGraph:
    """Set `shape` on every node, in execution order."""
    g = g.copy()
    source: Source = g.graph["source"]
    fwd = forward_view(g)
    for n in execution_order(g):
        d = g.nodes[n]
        if "shape" in d:
            continue
        srcs = sorted(fwd.predecessors(n), key=lambda s: g.edges[s, n]["slot"])
        ins = [g.nodes[s]["shape"] for s in srcs]
        try:
            shape = apply_rule(d["type"], with_record_shape(d["conf"]), ins)
            if any(x <= 0 for x in shape):
                raise ShapeError(f"output shape {list(shape)} has a dimension <= 0 "
                                 f"(inputs {[list(s) for s in ins]})")
            _check_sizes(d, tuple(shape), ins)
        except ShapeError as e:
            raise source.layer_error(d["origin"], str(e)) from None
        d["shape"] = tuple(shape)
    return g


def apply_rule(kind: str, conf: Any, ins: list[Shape]) -> Shape:
    """The kind's shape rule applied; a plugin's rule that fails or returns something other than a shape
    is a ShapeError (the caller names the layer), a built-in rule's failure is a bug and stays one."""
    spec = spec_of(kind)
    try:
        shape = spec.shape(conf, ins)
    except ShapeError:
        raise
    except Exception as e:
        if spec in BUILT_IN:
            raise
        raise ShapeError(f"the shape rule of {kind} failed: {type(e).__name__}: {e}") from None
    if not isinstance(shape, (tuple, list)) or not shape or not all(
            isinstance(x, Integral) and not isinstance(x, bool) for x in shape):
        raise ShapeError(f"the shape rule of {kind} returned {shape!r}, not a tuple of whole numbers")
    return tuple(int(x) for x in shape)


def _check_sizes(d: dict, shape: Shape, ins: list[Shape]) -> None:
    """The layer's output and params must fit the kernels' 32-bit sizes."""
    spec = spec_of(d["type"])
    fits(shape, "output", f"`batchsize` ({shape[0]} rows) or the layer's sizes")
    field = "the layer's sizes" if spec.feature_field == "feature size" else f"`{spec.feature_field}`"
    for role, param_shape in spec.params(d["conf"], ins[0] if ins else ()):
        fits(param_shape, f"param {role}", f"{field} or its input's size")


def with_record_shape(conf: Any) -> Any:
    """A data layer's conf with `shape` set to its shard's record shape (read from the shard's first
    record when the shard exists); any other conf as it is."""
    field = next((f for f in ("sharddata_conf", "lmdbdata_conf") if conf.HasField(f)), None)
    if field is None or not getattr(conf, field).path:
        return conf
    dc = getattr(conf, field)
    record = first_record_shape(dc.path, conf.name)
    if record is None:
        return conf
    if dc.shape and _flat(record) != _flat(tuple(dc.shape)):
        raise ShapeError(f"shard '{dc.path}' holds records of shape {list(record)}, but the conf says "
                         f"`shape` {list(dc.shape)}")
    resolved = type(conf)()
    resolved.CopyFrom(conf)
    del getattr(resolved, field).shape[:]
    getattr(resolved, field).shape.extend(record)
    return resolved


def _flat(shape: Shape) -> Shape:
    """The shape without its 1-sized dims ([1, 28, 28] and [28, 28] hold the same records)."""
    return tuple(x for x in shape if x != 1)
