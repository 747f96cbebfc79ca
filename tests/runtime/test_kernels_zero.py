"""Zero sizes through the kernels: empty batches, blocks, filters and channels, GEMMs with M, N or K
of 0 (a replica owning no rows of a small layer), against what the sums over empty sets are."""
from __future__ import annotations

import numpy as np
import pytest
from singart import ops
from singart import reference as ref
from singart._native import kernels

from .test_kernels import ACTS, ATOL, RTOL, rand

ZERO_MNK = [(0, 5, 3), (4, 0, 3), (4, 5, 0), (0, 5, 0), (0, 0, 0)]


def zero_gemm_case(m: int, n: int, k: int, ta: bool, tb: bool, beta: float) -> tuple[np.ndarray, ...]:
    """(a, b, c, want) of c = 0.5 op(a) op(b) + beta c; c is NaN where beta is 0 (it must be ignored)."""
    rng = np.random.default_rng(7)
    a = rand(rng, k, m) if ta else rand(rng, m, k)
    b = rand(rng, n, k) if tb else rand(rng, k, n)
    c = rand(rng, m, n)
    want = 0.5 * ref.gemm(a, b, ta, tb) + beta * c
    if beta == 0.0:
        c[...] = np.nan
    return a, b, c, want


@pytest.mark.parametrize("m,n,k", ZERO_MNK)
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
def test_gemm_zero_sizes(m: int, n: int, k: int, ta: bool, tb: bool, beta: float) -> None:
    """An empty A or B (a replica's empty block of rows): M or N = 0 writes nothing; K = 0 gives beta C,
    and 0 when beta is 0 whatever C held (BLAS's rule)."""
    a, b, c, want = zero_gemm_case(m, n, k, ta, tb, beta)
    np.testing.assert_array_equal(ops.gemm(a, b, c, ta, tb, alpha=0.5, beta=beta), want)


@pytest.mark.parametrize("m,n,k", ZERO_MNK)
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("bias", [False, True])
def test_matmul_zero_sizes(m: int, n: int, k: int, ta: bool, tb: bool, bias: bool) -> None:
    """The inner product's matmul: with K = 0, c is the bias alone (or 0)."""
    rng = np.random.default_rng(8)
    a = rand(rng, k, m) if ta else rand(rng, m, k)
    b = rand(rng, n, k) if tb else rand(rng, k, n)
    bv = rand(rng, n) if bias else None
    c = np.full((m, n), np.nan, np.float32)
    kernels.matmul(a, b, bv, c, ta, tb)
    np.testing.assert_array_equal(c, ref.gemm(a, b, ta, tb) + (0 if bv is None else bv))


def test_empty_batch_through_every_kernel() -> None:
    """A worker whose block of the batch is empty: every kernel takes 0 rows; the weight gradients over
    no rows are 0."""
    rng = np.random.default_rng(9)
    x0 = np.zeros((0, 3, 8, 8), np.float32)
    wt, b = rand(rng, 4, 3 * 9), rand(rng, 4)
    y = ops.conv2d(x0, wt, b, stride=1, pad=1)
    assert y.shape == (0, 4, 8, 8)
    assert ops.conv2d_backward_data(y, wt, x0.shape, stride=1, pad=1).shape == x0.shape
    dw, db = np.full_like(wt, np.nan), np.full(4, np.nan, np.float32)
    ops.conv2d_backward_weights(x0, y, dw, db, stride=1, pad=1)
    np.testing.assert_array_equal(dw, 0)
    np.testing.assert_array_equal(db, 0)
    for is_max in (True, False):
        ws = ops.pool_workspace(x0.shape, 2, 2, is_max)
        p = ops.pool(x0, 2, 2, is_max, ws)
        assert p.shape == (0, 3, 4, 4)
        assert ops.pool_backward(p, ws, x0.shape, 2, 2, is_max).shape == x0.shape
    ws = ops.lrn_workspace(x0.shape, 3, 1e-4, 0.75, 1.0)
    assert ops.lrn(x0, 3, 1e-4, 0.75, 1.0, ws).shape == x0.shape
    assert ops.lrn_backward(x0, x0, ws, 3, 1e-4, 0.75, 1.0).shape == x0.shape
    x2 = np.zeros((0, 10), np.float32)
    for kind in ACTS:
        assert ops.activation_backward(kind, ops.activation(kind, x2), x2).shape == x2.shape
    assert ops.stanh_backward(ops.stanh(x2, 1.7, 0.67), x2, 1.7, 0.67).shape == x2.shape
    assert ops.softmax(x2).shape == x2.shape
    assert ops.softmax(np.zeros((3, 0), np.float32)).shape == (3, 0)
    ops.sgd_update(x2, x2, x2.copy(), 0.1, 0.01, 0.9)
    ops.axpby(1.0, x2, 0.5, x2.copy())
    dw2 = np.full((6, 10), np.nan, np.float32)
    db2 = np.full(6, np.nan, np.float32)
    ops.inner_product_backward_weights(x2, np.zeros((0, 6), np.float32), dw2, db2)
    np.testing.assert_array_equal(dw2, 0)
    np.testing.assert_array_equal(db2, 0)


def test_convolution_with_no_filters_or_no_channels() -> None:
    """A feature block with no filters (more workers than filters), and an input with no channels."""
    rng = np.random.default_rng(10)
    x, dy = rand(rng, 2, 3, 6, 6), np.zeros((2, 0, 6, 6), np.float32)
    w0 = np.zeros((0, 3, 3, 3), np.float32)
    y = np.empty((2, 0, 6, 6), np.float32)
    kernels.conv_forward(x, w0, None, y, 1, 1)
    dx = np.full_like(x, np.nan)
    kernels.conv_backward_data(dy, w0, dx, 1, 1)
    np.testing.assert_array_equal(dx, 0)  # no filter passes anything back
    kernels.conv_backward_weights(x, dy, w0, np.zeros(0, np.float32), 1, 1)
    # no input channels: y is the bias alone; db sums dy as ever
    xc, wc, b = np.zeros((2, 0, 6, 6), np.float32), np.zeros((4, 0, 3, 3), np.float32), rand(rng, 4)
    y = np.full((2, 4, 6, 6), np.nan, np.float32)
    kernels.conv_forward(xc, wc, b, y, 1, 1)
    np.testing.assert_array_equal(y, np.broadcast_to(b[None, :, None, None], y.shape))
    dy = rand(rng, 2, 4, 6, 6)
    db = np.full(4, np.nan, np.float32)
    kernels.conv_backward_weights(xc, dy, wc, db, 1, 1)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 2, 3)), RTOL, ATOL)
    kernels.conv_backward_data(dy, wc, xc, 1, 1)
