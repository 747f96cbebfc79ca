"""The CUDA twins against the NumPy reference; skipped where no GPU is present."""
from __future__ import annotations

import numpy as np
import pytest
from singart import reference as ref
from singart._native import kernels

from .test_kernels_zero import zero_gemm_case

cuda = kernels.cuda
if not cuda.built:
    pytest.skip("the CUDA twins were not built (no CUDA toolkit at build time)", allow_module_level=True)
if not cuda.available():
    pytest.skip("no CUDA GPU on this machine", allow_module_level=True)

RTOL, ATOL = 2e-4, 2e-4


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_sgemm(ta: bool, tb: bool) -> None:
    rng = np.random.default_rng(0)
    m, n, k = 37, 29, 70
    a = rand(rng, k, m) if ta else rand(rng, m, k)
    b = rand(rng, n, k) if tb else rand(rng, k, n)
    c = rand(rng, m, n)
    want = 0.5 * ref.gemm(a, b, ta, tb) + 2.0 * c
    cuda.sgemm(a, b, c, ta, tb, 0.5, 2.0)
    np.testing.assert_allclose(c, want, RTOL, ATOL)


@pytest.mark.parametrize("n,c,h,w,f,k,s,p", [(2, 3, 8, 8, 4, 3, 1, 1), (3, 2, 9, 7, 5, 3, 2, 0)])
def test_conv(n: int, c: int, h: int, w: int, f: int, k: int, s: int, p: int) -> None:
    rng = np.random.default_rng(1)
    x, wt, b = rand(rng, n, c, h, w), rand(rng, f, c, k, k), rand(rng, f)
    want = ref.conv2d(x, wt, b, s, p)
    y = np.empty_like(want, dtype=np.float32)
    cuda.conv_forward(x, wt, b, y, s, p)
    np.testing.assert_allclose(y, want, RTOL, ATOL)
    dy = rand(rng, *y.shape)
    dx, dw, db = ref.conv2d_backward(x, wt, dy, s, p)
    got_dx, got_dw, got_db = np.empty_like(x), np.empty_like(wt), np.empty_like(b)
    cuda.conv_backward_data(dy, wt, got_dx, s, p)
    cuda.conv_backward_weights(x, dy, got_dw, got_db, s, p)
    for got, want in [(got_dx, dx), (got_dw, dw), (got_db, db)]:
        np.testing.assert_allclose(got, want, RTOL, ATOL)


@pytest.mark.parametrize("is_max", [True, False])
def test_pool(is_max: bool) -> None:
    rng = np.random.default_rng(2)
    x = rand(rng, 2, 3, 9, 9)
    want = ref.pool(x, 3, 2, is_max)
    y = np.empty(want.shape, np.float32)
    cuda.pool_forward(x, y, 3, 2, is_max)
    np.testing.assert_allclose(y, want, RTOL, ATOL)
    dy, dx = rand(rng, *y.shape), np.empty_like(x)
    cuda.pool_backward(x, dy, dx, 3, 2, is_max)
    np.testing.assert_allclose(dx, ref.pool_backward(x, dy, 3, 2, is_max), RTOL, ATOL)


def test_lrn() -> None:
    rng = np.random.default_rng(3)
    x, dy = rand(rng, 2, 7, 4, 3), rand(rng, 2, 7, 4, 3)
    y, dx = np.empty_like(x), np.empty_like(x)
    cuda.lrn_forward(x, y, 5, 0.5, 0.75, 2.0)
    cuda.lrn_backward(x, dy, dx, 5, 0.5, 0.75, 2.0)
    np.testing.assert_allclose(y, ref.lrn(x, 5, 0.5, 0.75, 2.0), RTOL, ATOL)
    np.testing.assert_allclose(dx, ref.lrn_backward(x, dy, 5, 0.5, 0.75, 2.0), RTOL, ATOL)


@pytest.mark.parametrize("kind,fwd,bwd", [(0, ref.relu, ref.relu_backward), (1, np.tanh, ref.tanh_backward),
                                          (2, ref.sigmoid, ref.sigmoid_backward)])
def test_activation(kind: int, fwd, bwd) -> None:
    rng = np.random.default_rng(4)
    x, dy = rand(rng, 5, 301), rand(rng, 5, 301)
    y, dx = np.empty_like(x), np.empty_like(x)
    cuda.act_forward(kind, x, y)
    cuda.act_backward(kind, y, dy, dx)
    np.testing.assert_allclose(y, fwd(x), RTOL, ATOL)
    np.testing.assert_allclose(dx, bwd(y, dy), RTOL, ATOL)


def test_softmax() -> None:
    rng = np.random.default_rng(5)
    x = rand(rng, 300, 10) * 10
    y = np.empty_like(x)
    cuda.softmax_forward(x, y)
    np.testing.assert_allclose(y, ref.softmax(x), RTOL, 1e-6)


@pytest.mark.parametrize("m,n,k", [(0, 5, 3), (4, 0, 3), (4, 5, 0), (0, 0, 0)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, True)])
@pytest.mark.parametrize("beta", [0.0, 2.0])
def test_sgemm_zero_sizes(m: int, n: int, k: int, ta: bool, tb: bool, beta: float) -> None:
    """M or N = 0 writes nothing; K = 0 gives beta C (0 when beta is 0, whatever C held)."""
    a, b, c, want = zero_gemm_case(m, n, k, ta, tb, beta)
    cuda.sgemm(a, b, c, ta, tb, 0.5, beta)
    np.testing.assert_array_equal(c, want)


def test_zero_sizes() -> None:
    """An empty batch through every twin; a convolution with no filters, and with no input channels."""
    rng = np.random.default_rng(7)
    x0, wt, b = np.zeros((0, 3, 6, 6), np.float32), rand(rng, 4, 3, 3, 3), rand(rng, 4)
    y0 = np.zeros((0, 4, 6, 6), np.float32)
    cuda.conv_forward(x0, wt, b, y0, 1, 1)
    cuda.conv_backward_data(y0, wt, x0, 1, 1)
    dw, db = np.full_like(wt, np.nan), np.full_like(b, np.nan)
    cuda.conv_backward_weights(x0, y0, dw, db, 1, 1)
    np.testing.assert_array_equal(dw, 0)
    np.testing.assert_array_equal(db, 0)
    p0 = np.zeros((0, 3, 3, 3), np.float32)
    for is_max in (True, False):
        cuda.pool_forward(x0, p0, 2, 2, is_max)
        cuda.pool_backward(x0, p0, x0, 2, 2, is_max)
    cuda.lrn_forward(x0, x0, 3, 1e-4, 0.75, 1.0)
    cuda.lrn_backward(x0, x0, x0, 3, 1e-4, 0.75, 1.0)
    for kind in (0, 1, 2):
        cuda.act_forward(kind, x0, x0)
        cuda.act_backward(kind, x0, x0, x0)
    cuda.softmax_forward(np.zeros((0, 10), np.float32), np.zeros((0, 10), np.float32))
    cuda.softmax_forward(np.zeros((3, 0), np.float32), np.zeros((3, 0), np.float32))
    # no filters: dx is 0
    x = rand(rng, 2, 3, 6, 6)
    w0, dy0, dx = np.zeros((0, 3, 3, 3), np.float32), np.zeros((2, 0, 6, 6), np.float32), np.full_like(x, np.nan)
    cuda.conv_forward(x, w0, None, dy0, 1, 1)
    cuda.conv_backward_data(dy0, w0, dx, 1, 1)
    np.testing.assert_array_equal(dx, 0)
    cuda.conv_backward_weights(x, dy0, w0, np.zeros(0, np.float32), 1, 1)
    # no input channels: y is the bias alone; db sums dy
    xc, wc = np.zeros((2, 0, 6, 6), np.float32), np.zeros((4, 0, 3, 3), np.float32)
    y = np.full((2, 4, 6, 6), np.nan, np.float32)
    cuda.conv_forward(xc, wc, b, y, 1, 1)
    np.testing.assert_array_equal(y, np.broadcast_to(b[None, :, None, None], y.shape))
    dy, db = rand(rng, 2, 4, 6, 6), np.full(4, np.nan, np.float32)
    cuda.conv_backward_weights(xc, dy, wc, db, 1, 1)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 2, 3)), RTOL, ATOL)
    cuda.conv_backward_data(dy, wc, xc, 1, 1)


@pytest.mark.parametrize("kind", [0, 1, 2])  # rnn, gru, lstm
def test_recurrent_cells(kind: int) -> None:
    """One step forward and backward on the device equals the NumPy reference (gradients added, as BPTT)."""
    from .test_kernels_cells import case, reference_step
    name = ("rnn", "gru", "lstm")[kind]
    c = case(name, 5, 7, 6, seed=kind)
    lstm = kind == 2
    state = (lambda: np.empty((5, 6), np.float32)) if lstm else (lambda: None)
    h, cn, saved = np.empty((5, 6), np.float32), state(), np.empty((5, (1, 4, 5)[kind] * 6), np.float32)
    cuda.cell_forward(kind, c["x"], c["h_prev"], c["c_prev"] if lstm else None, c["w_ih"], c["w_hh"], c["b_ih"],
                      c["b_hh"], h, cn, saved)
    grads = {p: np.ones_like(c[p]) for p in ("w_ih", "w_hh", "b_ih", "b_hh")}
    dx, dh_prev, dc_prev = np.empty_like(c["x"]), np.empty_like(h), state()
    cuda.cell_backward(kind, c["x"], c["h_prev"], c["c_prev"] if lstm else None, c["w_ih"], c["w_hh"], saved,
                       c["dh"], c["dc"] if lstm else None, dx, dh_prev, dc_prev, *grads.values())
    want_out, want = reference_step(name, c, np.float64)
    np.testing.assert_allclose(h, want_out["h"], RTOL, ATOL)
    got = {"x": dx, "h_prev": dh_prev, **{p: g - 1 for p, g in grads.items()}}
    if lstm:
        np.testing.assert_allclose(cn, want_out["c"], RTOL, ATOL)
        got["c_prev"] = dc_prev
    for k, v in got.items():
        np.testing.assert_allclose(v, want[k], RTOL, ATOL, err_msg=k)
