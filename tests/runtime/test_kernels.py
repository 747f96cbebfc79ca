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


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_inner_product(transpose: bool, bias: bool) -> None:
    rng = np.random.default_rng(1)
    x, dy = rand(rng, 9, 20), rand(rng, 9, 6)
    w = rand(rng, 20, 6) if transpose else rand(rng, 6, 20)
    b = rand(rng, 6) if bias else None
    np.testing.assert_allclose(ops.inner_product(x, w, b, transpose=transpose),
                               ref.inner_product(x, w, b, transpose), RTOL, ATOL)
    dx, dw, db = ref.inner_product_backward(x, w, dy, transpose)
    np.testing.assert_allclose(ops.inner_product_backward_data(dy, w, transpose=transpose), dx, RTOL, ATOL)
    got_dw, got_db = np.full_like(w, np.nan), np.full(6, np.nan, np.float32)
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
