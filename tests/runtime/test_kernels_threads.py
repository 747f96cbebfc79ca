"""Kernels and threads: per-thread thread counts, the GIL released inside kernels and held while the
bindings read their arrays (the GIL-checked build), element-wise kernels alone and across the team."""
from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest
from singart import ops
from singart import reference as ref
from singart._native import kernels

from .test_kernels import rand


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
        # a gru step: batch 2, input 3, hidden 4
        "cell_forward": (1, f(2, 3), f(2, 4), None, f(12, 3), f(12, 4), f(12), f(12), f(2, 4), None, f(2, 16)),
        "cell_backward": (1, f(2, 3), f(2, 4), None, f(12, 3), f(12, 4), f(2, 16), f(2, 4), None, f(2, 3),
                          f(2, 4), None, f(12, 3), f(12, 4), f(12), f(12)),
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
