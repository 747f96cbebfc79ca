"""The recurrent cells' math, one function per direction: the NumPy reference the C++ kernels match.

Shapes: x (B, D), h and c (B, H), W (G*H, D), U (G*H, H), b (G*H,) or None, with G gates stacked in
PyTorch's order (tanh RNN: one; GRU: r, z, n; LSTM: i, f, g, o), so that a PyTorch cell with the same
weights is the oracle. One bias: the GRU's n gate takes it on the input side (PyTorch's b_ih), its
recurrent side has none (b_hh = 0). A backward returns the gradients of every input of its forward;
the caller adds the weights' ones up over the steps.
"""
from __future__ import annotations

from typing import Any

import numpy as np

Cache = tuple[Any, ...]
Grads = tuple[Any, ...]  # arrays, and None for the bias of a cell without one


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * a) + 1.0)  # no overflow warning for large negative a


def _affine(x: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    a = x @ W.T
    return a if b is None else a + b


def _weight_grads(dax: np.ndarray, dah: np.ndarray, x: np.ndarray, h: np.ndarray,
                  b: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """dW, dU, db from the gradients of the input-side (dax) and recurrent-side (dah) pre-activations."""
    return dax.T @ x, dah.T @ h, None if b is None else dax.sum(axis=0)


def rnn_forward(x: np.ndarray, h_prev: np.ndarray, W: np.ndarray, U: np.ndarray,
                b: np.ndarray | None) -> tuple[np.ndarray, Cache]:
    """h = tanh(W x + U h_prev + b)."""
    h = np.tanh(_affine(x, W, b) + h_prev @ U.T)
    return h, (x, h_prev, W, U, b, h)


def rnn_backward(dh: np.ndarray, cache: Cache) -> Grads:
    """(dx, dh_prev, dW, dU, db) for the gradient dh of rnn_forward's h."""
    x, h_prev, W, U, b, h = cache
    da = dh * (1.0 - h * h)
    return (da @ W, da @ U, *_weight_grads(da, da, x, h_prev, b))


def gru_forward(x: np.ndarray, h_prev: np.ndarray, W: np.ndarray, U: np.ndarray,
                b: np.ndarray | None) -> tuple[np.ndarray, Cache]:
    """r, z = sigmoid(..), n = tanh(W_n x + b_n + r * U_n h_prev), h = (1 - z) n + z h_prev."""
    H = h_prev.shape[1]
    ax, ah = _affine(x, W, b), h_prev @ U.T
    rz = _sigmoid(ax[:, :2 * H] + ah[:, :2 * H])
    r, z = rz[:, :H], rz[:, H:]
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    h = (1.0 - z) * n + z * h_prev
    return h, (x, h_prev, W, U, b, r, z, n, ah[:, 2 * H:])


def gru_backward(dh: np.ndarray, cache: Cache) -> Grads:
    """(dx, dh_prev, dW, dU, db) for the gradient dh of gru_forward's h."""
    x, h_prev, W, U, b, r, z, n, ahn = cache
    dn = dh * (1.0 - z) * (1.0 - n * n)
    dz = dh * (h_prev - n) * z * (1.0 - z)
    dr = dn * ahn * r * (1.0 - r)
    dax = np.concatenate([dr, dz, dn], axis=1)
    dah = np.concatenate([dr, dz, dn * r], axis=1)
    return (dax @ W, dah @ U + dh * z, *_weight_grads(dax, dah, x, h_prev, b))


def lstm_forward(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, W: np.ndarray, U: np.ndarray,
                 b: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, Cache]:
    """i, f, o = sigmoid(..), g = tanh(..), c = f c_prev + i g, h = o tanh(c)."""
    H = h_prev.shape[1]
    a = _affine(x, W, b) + h_prev @ U.T
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    return o * tc, c, (x, h_prev, c_prev, W, U, b, i, f, g, o, tc)


def lstm_backward(dh: np.ndarray, dc: np.ndarray, cache: Cache) -> Grads:
    """(dx, dh_prev, dc_prev, dW, dU, db) for the gradients dh, dc of lstm_forward's h and c."""
    x, h_prev, c_prev, W, U, b, i, f, g, o, tc = cache
    dc = dc + dh * o * (1.0 - tc * tc)
    da = np.concatenate([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f),
                         dc * i * (1.0 - g * g), dh * tc * o * (1.0 - o)], axis=1)
    return (da @ W, da @ U, dc * f, *_weight_grads(da, da, x, h_prev, b))
