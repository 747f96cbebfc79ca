"""The oneDNN kernels against the NumPy reference, on random shapes and values (float32 tolerance)."""
from __future__ import annotations

import numpy as np
import pytest
from singart import ops
from singart import reference as ref
from singart._native import kernels

RTOL, ATOL = 2e-4, 2e-4


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 5, 3), (64, 33, 129)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm(m: int, n: int, k: int, ta: bool, tb: bool) -> None:
    rng = np.random.default_rng(m + n + k)
    a = rand(rng, k, m) if ta else rand(rng, m, k)
    b = rand(rng, n, k) if tb else rand(rng, k, n)
    c = rand(rng, m, n)
    want = 0.5 * ref.gemm(a, b, ta, tb) + 2.0 * c
    np.testing.assert_allclose(ops.gemm(a, b, c, ta, tb, alpha=0.5, beta=2.0), want, RTOL, ATOL)


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("batch, out", [(9, 6), (3, 70)])  # (3, 70): a few rows, many features, which
def test_inner_product(transpose: bool, bias: bool, batch: int, out: int) -> None:  # the kernel swaps
    rng = np.random.default_rng(1)
    x, dy = rand(rng, batch, 20), rand(rng, batch, out)
    w = rand(rng, 20, out) if transpose else rand(rng, out, 20)
    b = rand(rng, out) if bias else None
    np.testing.assert_allclose(ops.inner_product(x, w, b, transpose=transpose),
                               ref.inner_product(x, w, b, transpose), RTOL, ATOL)
    dx, dw, db = ref.inner_product_backward(x, w, dy, transpose)
    np.testing.assert_allclose(ops.inner_product_backward_data(dy, w, transpose=transpose), dx, RTOL, ATOL)
    got_dw, got_db = np.full_like(w, np.nan), np.full(out, np.nan, np.float32)
    ops.inner_product_backward_weights(x, dy, got_dw, got_db, transpose)
    np.testing.assert_allclose(got_dw, dw, RTOL, ATOL)
    np.testing.assert_allclose(got_db, db, RTOL, ATOL)


CONV_CASES = [  # n, c, h, w, filters, k, stride, pad
    (2, 3, 8, 8, 4, 3, 1, 1),
    (3, 2, 9, 7, 5, 3, 2, 0),   # floor output size: the last row/column of windows is partial
    (1, 4, 12, 12, 2, 5, 1, 2),
    (2, 1, 6, 6, 3, 2, 2, 1),
]


@pytest.mark.parametrize("n,c,h,w,f,k,s,p", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(n: int, c: int, h: int, w: int, f: int, k: int, s: int, p: int, bias: bool) -> None:
    rng = np.random.default_rng(n * 100 + h)
    x, wt = rand(rng, n, c, h, w), rand(rng, f, c * k * k)
    b = rand(rng, f) if bias else None
    y = ops.conv2d(x, wt, b, stride=s, pad=p)
    np.testing.assert_allclose(y, ref.conv2d(x, wt, b, s, p), RTOL, ATOL)
    dy = rand(rng, *y.shape)
    dx, dw, db = ref.conv2d_backward(x, wt, dy, s, p)
    np.testing.assert_allclose(ops.conv2d_backward_data(dy, wt, x.shape, stride=s, pad=p), dx, RTOL, ATOL)
    got_dw = np.full_like(wt, np.nan)
    got_db = np.full(f, np.nan, np.float32) if bias else None
    ops.conv2d_backward_weights(x, dy, got_dw, got_db, stride=s, pad=p)
    np.testing.assert_allclose(got_dw, dw, RTOL, ATOL)
    if bias:
        np.testing.assert_allclose(got_db, db, RTOL, ATOL)


@pytest.mark.parametrize("shape,k,s", [((2, 3, 8, 8), 2, 2), ((2, 2, 9, 9), 3, 2), ((1, 3, 7, 10), 3, 3),
                                       ((3, 1, 5, 5), 3, 1)])
@pytest.mark.parametrize("is_max", [True, False])
def test_pool(shape: tuple[int, ...], k: int, s: int, is_max: bool) -> None:
    rng = np.random.default_rng(sum(shape))
    x = rand(rng, *shape)
    ws = ops.pool_workspace(shape, k, s, is_max)
    y = ops.pool(x, k, s, is_max, ws)
    assert y.shape[2:] == ((shape[2] - k) // s + 1, (shape[3] - k) // s + 1)
    np.testing.assert_allclose(y, ref.pool(x, k, s, is_max), RTOL, ATOL)
    dy = rand(rng, *y.shape)
    np.testing.assert_allclose(ops.pool_backward(dy, ws, shape, k, s, is_max),
                               ref.pool_backward(x, dy, k, s, is_max), RTOL, ATOL)


@pytest.mark.parametrize("size,alpha,beta,knorm", [(3, 5e-5, 0.75, 1.0), (5, 0.5, 0.75, 2.0), (1, 1.0, 0.5, 1.0)])
def test_lrn(size: int, alpha: float, beta: float, knorm: float) -> None:
    rng = np.random.default_rng(size)
    x, dy = rand(rng, 2, 7, 5, 4), rand(rng, 2, 7, 5, 4)
    ws = ops.lrn_workspace(x.shape, size, alpha, beta, knorm)
    np.testing.assert_allclose(ops.lrn(x, size, alpha, beta, knorm, ws), ref.lrn(x, size, alpha, beta, knorm),
                               RTOL, ATOL)
    np.testing.assert_allclose(ops.lrn_backward(x, dy, ws, size, alpha, beta, knorm),
                               ref.lrn_backward(x, dy, size, alpha, beta, knorm), RTOL, ATOL)


ACTS = {"relu": (ref.relu, ref.relu_backward), "tanh": (np.tanh, ref.tanh_backward),
        "sigmoid": (ref.sigmoid, ref.sigmoid_backward)}


@pytest.mark.parametrize("kind", sorted(ACTS))
def test_activation(kind: str) -> None:
    rng = np.random.default_rng(3)
    x, dy = rand(rng, 4, 3, 17), rand(rng, 4, 3, 17)
    fwd, bwd = ACTS[kind]
    y = ops.activation(kind, x)
    np.testing.assert_allclose(y, fwd(x), RTOL, ATOL)
    np.testing.assert_allclose(ops.activation_backward(kind, y, dy), bwd(y, dy), RTOL, ATOL)


def test_softmax() -> None:
    rng = np.random.default_rng(4)
    x = rand(rng, 13, 10) * 10
    np.testing.assert_allclose(ops.softmax(x), ref.softmax(x), RTOL, 1e-6)


def test_outputs_are_written_in_place() -> None:
    rng = np.random.default_rng(5)
    x, w = rand(rng, 4, 6), rand(rng, 3, 6)
    out = np.zeros((4, 3), np.float32)
    assert ops.inner_product(x, w, None, out) is out
    np.testing.assert_allclose(out, x @ w.T, RTOL, ATOL)


@pytest.mark.parametrize("bad,match", [
    (lambda a: a.astype(np.float64), "float32"),
    (lambda a: a.T, "C-contiguous"),
])
def test_bad_arrays_are_refused_with_a_clear_error(bad, match: str) -> None:
    a = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match=match):
        ops.gemm(bad(a), a)


def test_shape_mismatch_names_the_argument() -> None:
    x = np.ones((2, 3, 8, 8), np.float32)
    with pytest.raises(ValueError, match="w:"):
        ops.conv2d(x, np.ones((4, 2 * 9), np.float32), None)
    with pytest.raises(ValueError, match="out:"):
        ops.softmax(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="convolution: kernel"):  # an empty kernel, not an empty block
        kernels.conv_forward(x, np.ones((4, 3, 0, 0), np.float32), None, np.empty((2, 4, 9, 9), np.float32),
                             1, 0)
