"""Channels-last activations (NHWC in memory, NCHW in shape): the kernels take them wherever the layers
pass them, in any mix with NCHW, and compute what they compute on NCHW; the layers keep the layout
through conv -> pool -> activation chains and hand NCHW to the layers that need it."""
from __future__ import annotations

import numpy as np
import pytest
from singart import layout, ops
from singart import reference as ref

from .test_kernels import ATOL, RTOL, rand
from .test_layers import make_layer


def to(a: np.ndarray, channels_last: bool) -> np.ndarray:
    """A copy of `a` in the layout."""
    out = layout.empty(a.shape, channels_last)
    np.copyto(out, a)
    return out


def test_layout_helpers() -> None:
    x = layout.empty((2, 3, 4, 5), True)
    assert x.shape == (2, 3, 4, 5) and layout.is_channels_last(x) and layout.is_dense(x)
    assert not layout.is_channels_last(np.empty((2, 3, 4, 5), np.float32))
    assert not layout.is_dense(np.empty((2, 3, 4, 5), np.float32)[:, :2])  # a channel cut
    one = layout.empty((2, 1, 4, 5), True)  # one channel: both layouts are the same memory
    assert layout.in_layout(one, True) and layout.in_layout(one, False)
    nchw = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    assert layout.as_layout(nchw, False, np.empty_like(nchw)) is nchw
    np.testing.assert_array_equal(layout.as_layout(nchw, True, layout.empty(nchw.shape, True)), nchw)


@pytest.mark.parametrize("x_last, y_last", [(False, True), (True, True), (True, False)])
@pytest.mark.parametrize("n,c,h,w,f,k,s,p", [(2, 3, 8, 8, 4, 3, 1, 1), (2, 5, 9, 7, 16, 3, 2, 0),
                                             (2, 1, 6, 6, 3, 2, 2, 1)])
def test_convolution_in_either_layout(x_last: bool, y_last: bool, n: int, c: int, h: int, w: int, f: int,
                                      k: int, s: int, p: int) -> None:
    rng = np.random.default_rng(c * 10 + f)
    x, wt, b = rand(rng, n, c, h, w), rand(rng, f, c * k * k), rand(rng, f)
    want = ref.conv2d(x, wt, b, s, p)
    y = ops.conv2d(to(x, x_last), wt, b, layout.empty(want.shape, y_last), s, p)
    np.testing.assert_allclose(y, want, RTOL, ATOL)
    dy = rand(rng, *want.shape)
    dx, dw, db = ref.conv2d_backward(x, wt, dy, s, p)
    got_dx = ops.conv2d_backward_data(to(dy, y_last), wt, x.shape, layout.empty(x.shape, x_last), s, p)
    np.testing.assert_allclose(got_dx, dx, RTOL, ATOL)
    got_dw, got_db = np.empty_like(wt), np.empty_like(b)
    ops.conv2d_backward_weights(to(x, x_last), to(dy, y_last), got_dw, got_db, s, p)
    np.testing.assert_allclose(got_dw, dw, RTOL, ATOL)
    np.testing.assert_allclose(got_db, db, RTOL, ATOL)


@pytest.mark.parametrize("is_max", [True, False])
@pytest.mark.parametrize("shape,k,s", [((2, 20, 8, 8), 2, 2), ((3, 4, 3, 3), 2, 2)])  # the second: 1x1 out
def test_pooling_channels_last(is_max: bool, shape: tuple[int, ...], k: int, s: int) -> None:
    rng = np.random.default_rng(2)
    x = rand(rng, *shape)
    ws = ops.pool_workspace(shape, k, s, is_max, True)
    want = ref.pool(x, k, s, is_max)
    y = ops.pool(to(x, True), k, s, is_max, ws, layout.empty(want.shape, True))
    np.testing.assert_allclose(y, want, RTOL, ATOL)
    dy = rand(rng, *want.shape)
    dx = ops.pool_backward(to(dy, True), ws, shape, k, s, is_max, layout.empty(shape, True))
    np.testing.assert_allclose(dx, ref.pool_backward(x, dy, k, s, is_max), RTOL, ATOL)


def test_element_wise_kernels_need_one_layout() -> None:
    x = to(rand(np.random.default_rng(3), 2, 3, 4, 5), True)
    np.testing.assert_allclose(ops.activation("relu", x, layout.empty(x.shape, True)), np.maximum(x, 0))
    with pytest.raises(ValueError, match="memory layout"):
        ops.activation("relu", x, np.empty(x.shape, np.float32))
    with pytest.raises(ValueError, match="C-contiguous or channels-last"):
        ops.activation("relu", np.empty((2, 6, 4, 5), np.float32)[:, :3], np.empty(x.shape, np.float32))


def test_layers_keep_channels_last_and_hand_nchw_on() -> None:
    rng = np.random.default_rng(4)
    x, wt, b = rand(rng, 2, 3, 8, 8), rand(rng, 20, 27), rand(rng, 20)
    conv = make_layer("kConvolution", "convolution_conf { num_filters: 20 kernel: 3 }", ("weight", "bias"))
    pool = make_layer("kPooling", "pooling_conf { kernel: 2 stride: 2 pool: MAX }")
    relu = make_layer("kReLU")
    lrn = make_layer("kLRN", "lrn_conf { local_size: 3 alpha: 0.5 beta: 0.75 knorm: 2 }")
    y = relu.forward([pool.forward([conv.forward([x], [wt, b], 0)], [], 0)], [], 0)
    assert layout.is_channels_last(y)
    want = np.maximum(ref.pool(ref.conv2d(x, wt, b, 1, 0), 2, 2, True), 0)
    np.testing.assert_allclose(y, want, RTOL, ATOL)
    z = lrn.forward([y], [], 0)
    assert z.flags.c_contiguous
    np.testing.assert_allclose(z, ref.lrn(want, 3, 0.5, 0.75, 2.0), RTOL, ATOL)
    dy = rand(rng, *want.shape)  # an NCHW gradient coming back into the channels-last chain
    d_relu = relu.backward(dy, [])[0]
    assert layout.is_channels_last(d_relu)
    np.testing.assert_allclose(d_relu, ref.relu_backward(want, dy), RTOL, ATOL)
