"""The recurrent cells as the layers call them: one time step, batch-major float32 C-contiguous arrays,
PyTorch's weight layout, gate order and equations (nn.RNNCell tanh, nn.GRUCell r z n, nn.LSTMCell i f g o;
see cpp/shapes.h), so that its weights map one to one.

    h, cache = gru_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh)      # W_ih (3H, I), W_hh (3H, H), b (3H,)
    dx, dh_prev = gru_backward(dh, cache, dW_ih, dW_hh, db_ih, db_hh)

Backward ADDS into dW_ih, dW_hh, db_ih and db_hh (zero them once per batch), so that backpropagation
through time sums them over the steps. Biases may be None (no bias), and so may their gradients; with
need_dx=False backward skips dx (a data layer's input) and returns None for it. The cache keeps the
forward's arrays by reference: leave them unchanged until its backward.

A layer that runs the same window again can pass `reuse=` the cache of the same step from the window
before (its backward done): the gate values and backward's dx, dh_prev (dc_prev) are then written into
that cache's arrays instead of fresh ones, since touching fresh pages costs ~0.6 ms per MB (~30 ms per
window for a GRU of hidden 512, batch 64, 50 steps). h and c are always fresh arrays; the arrays
backward returns belong to its cache, written again by a reuse's backward.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import ops  # noqa: F401  (sets OMP_WAIT_POLICY before the kernels' first import)
from ._native import kernels as _k

RNN, GRU, LSTM = 0, 1, 2  # the binding's cell numbers
GATES = {RNN: 1, GRU: 3, LSTM: 4}
SAVED = {RNN: 1, GRU: 4, LSTM: 5}  # values per hidden unit the forward keeps for backward
NAMES = {RNN: "rnn", GRU: "gru", LSTM: "lstm"}


@dataclass
class CellCache:
    """What a cell's backward needs from its forward, and the arrays its backward returned (kept for reuse)."""

    kind: int
    x: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray | None
    w_ih: np.ndarray
    w_hh: np.ndarray
    saved: np.ndarray
    grads: dict[str, np.ndarray] = field(default_factory=dict)  # dx, dh_prev, dc_prev


def _buffer(held: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    """held[name] when it has this shape, else a fresh array that `held` keeps."""
    a = held.get(name)
    if a is None or a.shape != shape:
        a = held[name] = np.empty(shape, np.float32)
    return a


def _matrix(a: object, name: str) -> np.ndarray:
    """`a` as the 2-D array the output shapes are read from; anything else is a one-line ValueError."""
    if not isinstance(a, np.ndarray) or a.ndim != 2:
        got = a.shape if isinstance(a, np.ndarray) else type(a).__name__
        raise ValueError(f"{name}: expected a 2-D float32 array, got {got}")
    return a


def _forward(kind: int, x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray | None, w_ih: np.ndarray,
             w_hh: np.ndarray, b_ih: np.ndarray | None,
             b_hh: np.ndarray | None,
             reuse: CellCache | None) -> tuple[np.ndarray, np.ndarray | None, CellCache]:
    batch, hidden = _matrix(x, "x").shape[0], _matrix(w_hh, "w_hh").shape[1]
    h = np.empty((batch, hidden), np.float32)
    c = np.empty((batch, hidden), np.float32) if kind == LSTM else None
    held = {"saved": reuse.saved, **reuse.grads} if reuse is not None and reuse.kind == kind else {}
    saved = _buffer(held, "saved", (batch, SAVED[kind] * hidden))
    _k.cell_forward(kind, x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh, h, c, saved)
    del held["saved"]
    return h, c, CellCache(kind, x, h_prev, c_prev, w_ih, w_hh, saved, held)


def _backward(kind: int, dh: np.ndarray, dc: np.ndarray | None, cache: CellCache, dw_ih: np.ndarray | None,
              dw_hh: np.ndarray | None, db_ih: np.ndarray | None, db_hh: np.ndarray | None,
              need_dx: bool) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    if not isinstance(cache, CellCache) or cache.kind != kind:
        raise ValueError(f"cache: expected the cache of a {NAMES[kind]} forward, got {type(cache).__name__}"
                         + (f" of a {NAMES[cache.kind]}" if isinstance(cache, CellCache) else ""))
    dx = _buffer(cache.grads, "dx", cache.x.shape) if need_dx else None
    dh_prev = _buffer(cache.grads, "dh_prev", cache.h_prev.shape)
    dc_prev = _buffer(cache.grads, "dc_prev", cache.h_prev.shape) if kind == LSTM else None
    _k.cell_backward(kind, cache.x, cache.h_prev, cache.c_prev, cache.w_ih, cache.w_hh, cache.saved, dh, dc,
                     dx, dh_prev, dc_prev, dw_ih, dw_hh, db_ih, db_hh)
    return dx, dh_prev, dc_prev



def rnn_forward(x: np.ndarray, h_prev: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray | None,
                b_hh: np.ndarray | None, reuse: CellCache | None = None) -> tuple[np.ndarray, CellCache]:
    """h = tanh(x W_ih^T + b_ih + h_prev W_hh^T + b_hh) (nn.RNNCell), and the cache for backward."""
    h, _, cache = _forward(RNN, x, h_prev, None, w_ih, w_hh, b_ih, b_hh, reuse)
    return h, cache


def rnn_backward(dh: np.ndarray, cache: CellCache, dw_ih: np.ndarray | None, dw_hh: np.ndarray | None,
                 db_ih: np.ndarray | None, db_hh: np.ndarray | None,
                 need_dx: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    """(dx, dh_prev) of rnn_forward; adds the weights' and biases' gradients into dw_* and db_*."""
    dx, dh_prev, _ = _backward(RNN, dh, None, cache, dw_ih, dw_hh, db_ih, db_hh, need_dx)
    return dx, dh_prev


def gru_forward(x: np.ndarray, h_prev: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray | None,
                b_hh: np.ndarray | None, reuse: CellCache | None = None) -> tuple[np.ndarray, CellCache]:
    """h of nn.GRUCell (gates r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn))), and the cache."""
    h, _, cache = _forward(GRU, x, h_prev, None, w_ih, w_hh, b_ih, b_hh, reuse)
    return h, cache


def gru_backward(dh: np.ndarray, cache: CellCache, dw_ih: np.ndarray | None, dw_hh: np.ndarray | None,
                 db_ih: np.ndarray | None, db_hh: np.ndarray | None,
                 need_dx: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    """(dx, dh_prev) of gru_forward; adds the weights' and biases' gradients into dw_* and db_*."""
    dx, dh_prev, _ = _backward(GRU, dh, None, cache, dw_ih, dw_hh, db_ih, db_hh, need_dx)
    return dx, dh_prev


def lstm_forward(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                 b_ih: np.ndarray | None,
                 b_hh: np.ndarray | None,
                 reuse: CellCache | None = None) -> tuple[np.ndarray, np.ndarray, CellCache]:
    """(h, c) of nn.LSTMCell (gates i, f, g, o), and the cache."""
    h, c, cache = _forward(LSTM, x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh, reuse)
    assert c is not None
    return h, c, cache


def lstm_backward(dh: np.ndarray, dc: np.ndarray | None, cache: CellCache, dw_ih: np.ndarray | None,
                  dw_hh: np.ndarray | None, db_ih: np.ndarray | None, db_hh: np.ndarray | None,
                  need_dx: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(dx, dh_prev, dc_prev) of lstm_forward, from dh and dc (None: zero, the last step's);
    adds the weights' and biases' gradients into dw_* and db_*."""
    dx, dh_prev, dc_prev = _backward(LSTM, dh, dc, cache, dw_ih, dw_hh, db_ih, db_hh, need_dx)
    assert dc_prev is not None
    return dx, dh_prev, dc_prev
