"""Neuron and loss layers against the NumPy reference, whole and partitioned."""
from __future__ import annotations

import numpy as np
import pytest
from google.protobuf import text_format
from singa_proto import plan_pb2
from singart import reference as ref
from singart.layers import LayerContext
from singart.layers import make_layer as build

from .test_kernels_reference import numeric_grad

RTOL, ATOL = 2e-4, 2e-5


def make_layer(type_name: str, conf: str = "", roles: tuple[str, ...] = (), origin_shape: tuple[int, ...] = (),
               block: tuple[tuple[int, int, int], ...] = (), train: bool = True, name: str = "l"):
    """A layer of one plan node, built as the executor builds it."""
    node = plan_pb2.Node(name=name, origin=name.split("@")[0], origin_shape=origin_shape)
    text_format.Parse(conf, node.conf)
    for role in roles:
        node.params.add(role=role, param=f"{name}/{role}")
    for axis, begin, end in block:
        node.block.add(axis=axis, begin=begin, end=end)
    return build(type_name, LayerContext(node=node, in_shapes=(), seed=11, train=train))


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


CONV = "convolution_conf { num_filters: 6 kernel: 3 stride: 2 pad: 1 }"


@pytest.mark.parametrize("type_name", ["kConvolution", "kCConvolution"])
def test_convolution(type_name: str) -> None:
    rng = np.random.default_rng(0)
    x, w, b = rand(rng, 2, 3, 9, 9), rand(rng, 6, 27), rand(rng, 6)
    layer = make_layer(type_name, CONV, ("weight", "bias"))
    y = layer.forward([x], [w, b], 0)
    np.testing.assert_allclose(y, ref.conv2d(x, w, b, 2, 1), RTOL, ATOL)
    dy = rand(rng, *y.shape)
    grads = [np.full_like(w, np.nan), np.full_like(b, np.nan)]
    (dx,) = layer.backward(dy, grads)
    want_dx, want_dw, want_db = ref.conv2d_backward(x, w, dy, 2, 1)
    for got, want in [(dx, want_dx), (grads[0], want_dw), (grads[1], want_db)]:
        np.testing.assert_allclose(got, want, RTOL, ATOL)


def test_convolution_feature_partitioned_equals_whole() -> None:
    rng = np.random.default_rng(1)
    x, w, b = rand(rng, 2, 3, 8, 8), rand(rng, 6, 27), rand(rng, 6)
    whole = make_layer("kConvolution", CONV, ("weight", "bias"))
    y = whole.forward([x], [w, b], 0).copy()
    dy = rand(rng, *y.shape)
    gw, gb = np.empty_like(w), np.empty_like(b)
    dx = whole.backward(dy, [gw, gb])[0].copy()
    parts = [slice(0, 4), slice(4, 6)]  # uneven blocks of the filters
    ys, dxs = [], []
    for i, rows in enumerate(parts):
        part = make_layer("kConvolution", CONV, ("weight", "bias"), name=f"l@{i:02d}")
        ys.append(part.forward([x], [w[rows].copy(), b[rows].copy()], 0).copy())
        pw, pb = np.empty_like(w[rows]), np.empty_like(b[rows])
        dxs.append(part.backward(np.ascontiguousarray(dy[:, rows]), [pw, pb])[0].copy())
        np.testing.assert_allclose(pw, gw[rows], RTOL, ATOL)
        np.testing.assert_allclose(pb, gb[rows], RTOL, ATOL)
    np.testing.assert_allclose(np.concatenate(ys, axis=1), y, RTOL, ATOL)
    np.testing.assert_allclose(dxs[0] + dxs[1], dx, RTOL, ATOL)


@pytest.mark.parametrize("transpose", [False, True])
def test_inner_product_whole_and_feature_partitioned(transpose: bool) -> None:
    rng = np.random.default_rng(2)
    x, b, dy = rand(rng, 5, 2, 3, 2), rand(rng, 7), rand(rng, 5, 7)  # the input is flattened to 12 features
    w = rand(rng, 12, 7) if transpose else rand(rng, 7, 12)
    conf = f"innerproduct_conf {{ num_output: 7 transpose: {str(transpose).lower()} }}"
    layer = make_layer("kInnerProduct", conf, ("weight", "bias"))
    y = layer.forward([x], [w, b], 0).copy()
    np.testing.assert_allclose(y, ref.inner_product(x.reshape(5, 12), w, b, transpose), RTOL, ATOL)
    gw, gb = np.empty_like(w), np.empty_like(b)
    dx = layer.backward(dy, [gw, gb])[0].copy()
    want_dx, want_dw, want_db = ref.inner_product_backward(x.reshape(5, 12), w, dy, transpose)
    assert dx.shape == x.shape
    for got, want in [(dx.reshape(5, 12), want_dx), (gw, want_dw), (gb, want_db)]:
        np.testing.assert_allclose(got, want, RTOL, ATOL)
    # Feature partitioning: each block of hdim is rows of W, or columns of W when it is transposed.
    ys, dxs = [], []
    for i, cols in enumerate([slice(0, 3), slice(3, 7)]):
        wblock = np.ascontiguousarray(w[:, cols] if transpose else w[cols])
        part = make_layer("kInnerProduct", conf, ("weight", "bias"), name=f"l@{i:02d}")
        ys.append(part.forward([x], [wblock, b[cols].copy()], 0).copy())
        pw, pb = np.empty_like(wblock), np.empty_like(b[cols])
        dxs.append(part.backward(np.ascontiguousarray(dy[:, cols]), [pw, pb])[0].copy())
        np.testing.assert_allclose(pw, gw[:, cols] if transpose else gw[cols], RTOL, ATOL)
        np.testing.assert_allclose(pb, gb[cols], RTOL, ATOL)
    np.testing.assert_allclose(np.concatenate(ys, axis=1), y, RTOL, ATOL)
    np.testing.assert_allclose(dxs[0] + dxs[1], dx, RTOL, ATOL)


@pytest.mark.parametrize("transpose", [False, True])
def test_inner_product_without_bias_against_finite_differences(transpose: bool) -> None:
    rng = np.random.default_rng(3)
    x, dy = rand(rng, 4, 6), rand(rng, 4, 3)
    w = rand(rng, 6, 3) if transpose else rand(rng, 3, 6)
    conf = f"innerproduct_conf {{ num_output: 3 bias_term: false transpose: {str(transpose).lower()} }}"
    layer = make_layer("kInnerProduct", conf, ("weight",))
    np.testing.assert_allclose(layer.forward([x], [w], 0), x @ w if transpose else x @ w.T, RTOL, ATOL)
    gw = np.full_like(w, np.nan)
    (dx,) = layer.backward(dy, [gw])

    def loss() -> float:  # the scalar whose gradient backward computes: sum(y * dy)
        return float((layer.forward([x], [w], 0).astype(np.float64) * dy).sum())

    np.testing.assert_allclose(gw, numeric_grad(loss, w, eps=1e-2), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(dx, numeric_grad(loss, x, eps=1e-2), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("type_name", ["kPooling", "kCPooling"])
@pytest.mark.parametrize("pool", ["MAX", "AVG"])
def test_pooling(type_name: str, pool: str) -> None:
    rng = np.random.default_rng(4)
    x = rand(rng, 2, 3, 11, 11)
    layer = make_layer(type_name, f"pooling_conf {{ kernel: 3 stride: 2 pool: {pool} }}")
    y = layer.forward([x], [], 0)
    assert y.shape == (2, 3, 5, 5)  # floor((11 - 3) / 2) + 1
    np.testing.assert_allclose(y, ref.pool(x, 3, 2, pool == "MAX"), RTOL, ATOL)
    dy = rand(rng, *y.shape)
    np.testing.assert_allclose(layer.backward(dy, [])[0], ref.pool_backward(x, dy, 3, 2, pool == "MAX"),
                               RTOL, ATOL)


def test_lrn() -> None:
    rng = np.random.default_rng(5)
    x, dy = rand(rng, 2, 8, 4, 4), rand(rng, 2, 8, 4, 4)
    layer = make_layer("kLRN", "lrn_conf { local_size: 3 alpha: 0.5 beta: 0.75 knorm: 2 }")
    np.testing.assert_allclose(layer.forward([x], [], 0), ref.lrn(x, 3, 0.5, 0.75, 2.0), RTOL, ATOL)
    np.testing.assert_allclose(layer.backward(dy, [])[0], ref.lrn_backward(x, dy, 3, 0.5, 0.75, 2.0),
                               RTOL, ATOL)


ACTIVATIONS = {"kReLU": (ref.relu, ref.relu_backward), "kSigmoid": (ref.sigmoid, ref.sigmoid_backward),
               "kTanh": (np.tanh, ref.tanh_backward), "kSTanh": (ref.stanh, ref.stanh_backward)}


@pytest.mark.parametrize("type_name", sorted(ACTIVATIONS))
def test_activation(type_name: str) -> None:
    rng = np.random.default_rng(6)
    x, dy = rand(rng, 3, 4, 5), rand(rng, 3, 4, 5)
    fwd, bwd = ACTIVATIONS[type_name]
    layer = make_layer(type_name)
    y = layer.forward([x], [], 0)
    np.testing.assert_allclose(y, fwd(x), RTOL, ATOL)
    np.testing.assert_allclose(layer.backward(dy, [])[0], bwd(fwd(x.astype(np.float64)), dy), RTOL, ATOL)


def test_unknown_conf_values_are_refused() -> None:
    with pytest.raises(ValueError, match="convolution_conf.kernel"):
        make_layer("kConvolution", "convolution_conf { num_filters: 2 }")
    with pytest.raises(ValueError, match="local_size must be odd"):
        make_layer("kLRN", "lrn_conf { local_size: 4 }")


def test_user_split_passes_its_input_and_gradient_on() -> None:
    rng = np.random.default_rng(8)
    x, dy = rand(rng, 3, 4), rand(rng, 3, 4)
    layer = make_layer("kSplit")
    assert layer.forward([x], [], 0) is x
    np.testing.assert_array_equal(layer.backward(dy, [])[0], dy)


@pytest.mark.parametrize("axis", [0, 1])
def test_concate_joins_and_cuts_back(axis: int) -> None:
    rng = np.random.default_rng(9)
    a, b = rand(rng, 3, 4), rand(rng, 3, 4)
    b = b[:, :2].copy() if axis == 1 else b[:1].copy()
    layer = make_layer("kConcate", f"concate_conf {{ concate_dim: {axis} }}")
    y = layer.forward([a, b], [], 0)
    np.testing.assert_array_equal(y, np.concatenate([a, b], axis=axis))
    dy = rand(rng, *y.shape)
    da, db = layer.backward(dy, [])
    np.testing.assert_array_equal(np.concatenate([da, db], axis=axis), dy)
    assert da.shape == a.shape and db.shape == b.shape
