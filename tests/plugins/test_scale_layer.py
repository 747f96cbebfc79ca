"""The example Scale plugin's forward and backward, run as the executor runs a layer (through the NumPy
layer adapter), against NumPy finite differences of a scalar loss; and the adapter's own checks."""
from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pytest
from singa_proto import job_pb2, plan_pb2
from singa_spec.plugins import load_plugins
from singart.layers import IMPLEMENTATIONS, Layer, LayerContext

from .jobs import SCALE_PLUGIN

N, D, FACTOR = 5, 7, 2.0


def scale_layer(shape: tuple[int, ...] = (N, D)) -> Layer:
    """The Scale layer of one plan node of `shape`, with factor FACTOR in its conf's extension."""
    load_plugins([str(SCALE_PLUGIN)])
    scale_pb2 = sys.modules["scale_pb2"]
    conf = job_pb2.LayerProto(name="scale", type=job_pb2.kUserLayer, user_type="Scale")
    conf.Extensions[scale_pb2.scale_conf].factor = FACTOR
    node = plan_pb2.Node(name="scale", origin="scale", conf=conf, shape=shape, srcs=["fc1"],
                         params=[plan_pb2.ParamRef(role="scale", param="s")])
    return IMPLEMENTATIONS["Scale"](LayerContext(node=node, in_shapes=((N, D),), seed=1, train=True))


def loss(layer: Layer, x: np.ndarray, s: np.ndarray, r: np.ndarray) -> float:
    """sum(y * r): its gradient with respect to y is r."""
    y = layer.forward([x.astype(np.float32)], [s.astype(np.float32)], 0)
    return float((y * r).sum(dtype=np.float64))


def numeric(f: Callable[[], float], a: np.ndarray, eps: float = 1e-2) -> np.ndarray:
    """Central differences of f at a, one element at a time."""
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        keep = a[i]
        a[i] = keep + eps
        up = f()
        a[i] = keep - eps
        g[i] = (up - f()) / (2 * eps)
        a[i] = keep
    return g


def test_forward_and_backward_match_numpy_and_finite_differences() -> None:
    layer = scale_layer()
    rng = np.random.default_rng(0)
    x, s, r = rng.normal(size=(N, D)), rng.normal(size=D), rng.normal(size=(N, D)).astype(np.float32)
    y = layer.forward([x.astype(np.float32)], [s.astype(np.float32)], 0)
    np.testing.assert_allclose(y, FACTOR * s * x, rtol=1e-5, atol=1e-6)  # the conf's factor reached it
    ds = np.full(D, np.nan, np.float32)  # backward overwrites the param gradient
    (dx,) = layer.backward(r, [ds])
    np.testing.assert_allclose(dx, numeric(lambda: loss(layer, x, s, r), x), rtol=1e-3, atol=1e-3)
    layer.forward([x.astype(np.float32)], [s.astype(np.float32)], 0)
    np.testing.assert_allclose(ds, numeric(lambda: loss(layer, x, s, r), s), rtol=1e-3, atol=1e-3)


def test_a_forward_that_disagrees_with_the_plan_names_the_layer() -> None:
    layer = scale_layer(shape=(N, D + 1))
    want = r"layer scale: forward returned shape \[5, 7\], the plan expects \[5, 8\]"
    with pytest.raises(ValueError, match=want):
        layer.forward([np.ones((N, D), np.float32)], [np.ones(D, np.float32)], 0)
