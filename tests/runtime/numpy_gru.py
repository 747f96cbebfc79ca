"""A hand-written NumPy GRU cell in PyTorch's gate order (r, z, n), one bias on the input side, for the
sampling tests: gru(x, h, W_x, W_h, b) -> (h', cache)."""
from __future__ import annotations

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def gru(x: np.ndarray, h: np.ndarray, w_x: np.ndarray, w_h: np.ndarray,
        b: np.ndarray | None) -> tuple[np.ndarray, None]:
    gx = x @ w_x.T + (0 if b is None else b)
    gh = h @ w_h.T
    hd = h.shape[1]
    r = _sigmoid(gx[:, :hd] + gh[:, :hd])
    z = _sigmoid(gx[:, hd:2 * hd] + gh[:, hd:2 * hd])
    n = np.tanh(gx[:, 2 * hd:] + r * gh[:, 2 * hd:])
    return ((1 - z) * n + z * h).astype(np.float32), None
