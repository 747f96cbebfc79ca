"""The oneDNN kernels against the NumPy reference, on random shapes and values (float32 tolerance)."""
from __future__ import annotations

import os
import sys
import threading

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


ZERO_MNK = [(0, 5, 3), (4, 0, 3), (4, 5, 0), (0, 5, 0), (0, 0, 0)]


@pytest.mark.parametrize("m,n,k", ZERO_MNK)
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
def test_gemm_zero_sizes(m: int, n: int, k: int, ta: bool, tb: bool, beta: float) -> None:
    """An empty A or B (a replica's empty block of rows): M or N = 0 writes nothing; K = 0 gives beta C,
    and 0 when beta is 0 whatever C held (BLAS's rule)."""
    rng = np.random.default_rng(7)
    a = rand(rng, k, m) if ta else rand(rng, m, k)
    b = rand(rng, n, k) if tb else rand(rng, k, n)
    c = rand(rng, m, n)
    want = 0.5 * ref.gemm(a, b, ta, tb) + beta * c
    if beta == 0.0:
        c[...] = np.nan
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


def test_num_threads_is_per_thread() -> None:
    main = ops.get_num_threads()
    seen: list[int] = []

    def worker() -> None:
        ops.set_num_threads(1)
        seen.append(ops.get_num_threads())

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [1]
    assert ops.get_num_threads() == main


def test_kernels_release_the_gil() -> None:
    """A thread waiting for the GIL gets it while another thread is inside a kernel."""
    rng = np.random.default_rng(6)
    a = rand(rng, 512, 512)
    c = np.empty_like(a)
    inside, done = threading.Event(), threading.Event()

    def worker() -> None:
        inside.set()
        for _ in range(20):
            ops.gemm(a, a, c)
        done.set()

    # With a long switch interval the worker never hands the GIL over by itself: the main thread can
    # resume from inside.wait() only when a kernel releases it (or once the worker has finished).
    old = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    try:
        t = threading.Thread(target=worker)
        t.start()
        inside.wait()
        resumed_before_done = not done.is_set()
    finally:
        sys.setswitchinterval(old)
    t.join()
    assert resumed_before_done


def _cuda_calls() -> dict[str, tuple]:
    """Every binding of the CUDA submodule with valid arguments (its results are checked where a GPU is)."""
    def f(*shape: int) -> np.ndarray:
        return np.ones(shape, np.float32)

    x, y4 = f(2, 3, 6, 6), f(2, 3, 3, 3)
    return {
        "sgemm": (f(4, 5), f(5, 3), f(4, 3), False, False, 1.0, 0.0),
        "conv_forward": (x, f(4, 3, 3, 3), f(4), f(2, 4, 6, 6), 1, 1),
        "conv_backward_data": (f(2, 4, 6, 6), f(4, 3, 3, 3), f(*x.shape), 1, 1),
        "conv_backward_weights": (x, f(2, 4, 6, 6), f(4, 3, 3, 3), f(4), 1, 1),
        "act_forward": (0, x, f(*x.shape)),
        "act_backward": (0, x, x, f(*x.shape)),
        "softmax_forward": (f(3, 4), f(3, 4)),
        "pool_forward": (x, y4, 2, 2, True),
        "pool_backward": (x, y4, f(*x.shape), 2, 2, True),
        "lrn_forward": (x, f(*x.shape), 3, 1e-4, 0.75, 1.0),
        "lrn_backward": (x, x, f(*x.shape), 3, 1e-4, 0.75, 1.0),
    }


@pytest.mark.parametrize("name", sorted(_cuda_calls()))
def test_cuda_bindings_take_their_arguments_with_the_gil(name: str) -> None:
    """Each CUDA binding reads its arrays before it releases the GIL: without a GPU the call gets as far as
    the CUDA runtime's error (a RuntimeError naming the CUDA call); the GIL-checked build raises earlier
    for a binding that touches an array without the GIL."""
    if not kernels.cuda.built:
        pytest.skip("the CUDA twins were not built")
    call = getattr(kernels.cuda, name)
    if kernels.cuda.available():
        call(*_cuda_calls()[name])
        return
    with pytest.raises(RuntimeError, match=r"^cuda"):
        call(*_cuda_calls()[name])


def test_gil_checked_build_when_ci_asks_for_it() -> None:
    """CI runs the runtime tests a second time on the GIL-checked build (SINGA_GIL_CHECKS=ON), and says
    so with SINGA_EXPECT_GIL_CHECKS=1: then an unchecked module is an error, not a silent pass."""
    assert isinstance(kernels.gil_checks, bool)
    if os.environ.get("SINGA_EXPECT_GIL_CHECKS") != "1":
        pytest.skip("SINGA_EXPECT_GIL_CHECKS is not 1: either build may run these tests")
    assert kernels.gil_checks, "SINGA_EXPECT_GIL_CHECKS=1 but the kernel module was built without GIL checks"


@pytest.mark.parametrize("n", [1000, (1 << 20) + 3])  # below and above the size that wakes the team
@pytest.mark.parametrize("threads", [1, 2])
def test_elementwise_kernels_alone_and_across_threads(n: int, threads: int) -> None:
    """Element-wise kernels run in the calling thread below a size and across its team above it; both
    paths (and the team's block edges, n not a multiple of anything) give the reference's values."""
    rng = np.random.default_rng(7)
    x, y0, g, h0 = (rng.standard_normal(n, dtype=np.float32) for _ in range(4))
    main = ops.get_num_threads()
    ops.set_num_threads(threads)
    try:
        y = ops.stanh(x, ref.STANH_A, ref.STANH_B)
        np.testing.assert_allclose(y, ref.stanh(x), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ops.stanh_backward(y, g, ref.STANH_A, ref.STANH_B),
                                   ref.stanh_backward(y.astype(np.float64), g), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ops.activation("relu", x), np.maximum(x, 0))
        w, h = y0.copy(), h0.copy()
        ops.sgd_update(w, g, h, 0.1, 0.01, 0.9)
        want_h = 0.9 * h0 - 0.1 * (g + 0.01 * y0)
        np.testing.assert_allclose(h, want_h, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(w, y0 + want_h, rtol=1e-5, atol=1e-6)
        z = y0.copy()
        ops.axpby(2.0, x, 0.5, z)
        np.testing.assert_allclose(z, 0.5 * y0 + 2.0 * x, rtol=1e-6, atol=1e-6)
    finally:
        ops.set_num_threads(main)
