"""The NumPy reference's backward functions against central finite differences, in float64."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from singart import reference as ref


def numeric_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, perturbing x in place."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f()
        x[i] = old - eps
        down = f()
        x[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def check(analytic: np.ndarray, f: Callable[[], float], x: np.ndarray) -> None:
    np.testing.assert_allclose(analytic, numeric_grad(f, x), rtol=1e-5, atol=1e-7)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.mark.parametrize("transpose", [False, True])
def test_inner_product(rng: np.random.Generator, transpose: bool) -> None:
    x, b, dy = rng.standard_normal((3, 5)), rng.standard_normal(4), rng.standard_normal((3, 4))
    w = rng.standard_normal((5, 4) if transpose else (4, 5))
    loss = lambda: float((ref.inner_product(x, w, b, transpose) * dy).sum())
    dx, dw, db = ref.inner_product_backward(x, w, dy, transpose)
    check(dx, loss, x)
    check(dw, loss, w)
    check(db, loss, b)


@pytest.mark.parametrize("stride,pad", [(1, 1), (2, 0), (2, 1)])
def test_conv2d(rng: np.random.Generator, stride: int, pad: int) -> None:
    x, w, b = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2 * 9)), rng.standard_normal(3)
    dy = rng.standard_normal(ref.conv2d(x, w, b, stride, pad).shape)
    loss = lambda: float((ref.conv2d(x, w, b, stride, pad) * dy).sum())
    dx, dw, db = ref.conv2d_backward(x, w, dy, stride, pad)
    check(dx, loss, x)
    check(dw, loss, w)
    check(db, loss, b)


@pytest.mark.parametrize("is_max", [True, False])
def test_pool(rng: np.random.Generator, is_max: bool) -> None:
    x = rng.standard_normal((2, 2, 7, 7))
    dy = rng.standard_normal(ref.pool(x, 3, 2, is_max).shape)
    loss = lambda: float((ref.pool(x, 3, 2, is_max) * dy).sum())
    check(ref.pool_backward(x, dy, 3, 2, is_max), loss, x)


@pytest.mark.parametrize("size", [1, 3, 5])
def test_lrn(rng: np.random.Generator, size: int) -> None:
    x, dy = rng.standard_normal((2, 6, 3, 2)), rng.standard_normal((2, 6, 3, 2))
    loss = lambda: float((ref.lrn(x, size, 0.3, 0.75, 1.5) * dy).sum())
    check(ref.lrn_backward(x, dy, size, 0.3, 0.75, 1.5), loss, x)


@pytest.mark.parametrize("fwd,bwd", [(ref.relu, ref.relu_backward), (np.tanh, ref.tanh_backward),
                                     (ref.sigmoid, ref.sigmoid_backward), (ref.stanh, ref.stanh_backward)])
def test_activations(rng: np.random.Generator, fwd: Callable, bwd: Callable) -> None:
    x, dy = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from relu's kink
    check(bwd(fwd(x), dy), lambda: float((fwd(x) * dy).sum()), x)


def test_softmax_loss(rng: np.random.Generator) -> None:
    x, labels = rng.standard_normal((4, 6)), np.array([0, 5, 2, 2])
    # Rows of a batch of 10 (the rest held elsewhere): the loss is the mean over the full batch, times scale.
    loss = lambda: float(ref.softmax_loss(x, labels, 10)[0].sum() * 3.0 / 10)
    check(ref.softmax_loss(x, labels, 10, scale=3.0)[1], loss, x)


def test_euclidean_loss(rng: np.random.Generator) -> None:
    pred, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    # SINGA reports the summed squared error but its gradient is that of half of it
    loss = lambda: float(0.5 * ref.euclidean_loss(pred, target, 8)[0].sum() / 8)
    check(ref.euclidean_loss(pred, target, 8)[1], loss, pred)


def test_topk_and_floor_sizes() -> None:
    x = np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05]])
    assert ref.topk_correct(x, np.array([2, 0]), 1).tolist() == [0.0, 1.0]
    assert ref.topk_correct(x, np.array([2, 1]), 2).tolist() == [1.0, 1.0]
    assert ref.pool(np.zeros((1, 1, 32, 32)), 3, 2, True).shape == (1, 1, 15, 15)  # CIFAR's 32 -> 15
