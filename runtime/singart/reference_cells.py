"""The NumPy reference of the recurrent cells, one time step, forward and backward: the executable spec
the C++ and CUDA cell kernels are tested against. PyTorch's layout and gate order (nn.RNNCell tanh,
nn.GRUCell r z n, nn.LSTMCell i f g o): W_ih (gates * H, I), W_hh (gates * H, H), b_ih, b_hh (gates * H).
Any float dtype; biases may be None. Backward returns every gradient (no accumulation)."""
from __future__ import annotations

import numpy as np

Grads = dict[str, np.ndarray]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _affine(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    return x @ w.T if b is None else x @ w.T + b


def _param_grads(dgi: np.ndarray, dgh: np.ndarray, x: np.ndarray, h_prev: np.ndarray, w_ih: np.ndarray,
                 w_hh: np.ndarray) -> Grads:
    """The gradients reached through the two products, from their outputs' gradients dgi and dgh."""
    return {"x": dgi @ w_ih, "h_prev": dgh @ w_hh, "w_ih": dgi.T @ x, "w_hh": dgh.T @ h_prev,
            "b_ih": dgi.sum(axis=0), "b_hh": dgh.sum(axis=0)}


def rnn_cell(x: np.ndarray, h_prev: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray | None,
             b_hh: np.ndarray | None) -> np.ndarray:
    """h = tanh(x W_ih^T + b_ih + h_prev W_hh^T + b_hh)."""
    return np.tanh(_affine(x, w_ih, b_ih) + _affine(h_prev, w_hh, b_hh))


def rnn_cell_backward(dh: np.ndarray, x: np.ndarray, h_prev: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                      b_ih: np.ndarray | None, b_hh: np.ndarray | None) -> Grads:
    """Gradients of rnn_cell: x, h_prev, w_ih, w_hh, b_ih, b_hh."""
    h = rnn_cell(x, h_prev, w_ih, w_hh, b_ih, b_hh)
    dg = dh * (1 - h * h)
    return _param_grads(dg, dg, x, h_prev, w_ih, w_hh)


def _gru_gates(x, h_prev, w_ih, w_hh, b_ih, b_hh):  # type: ignore[no-untyped-def]
    gi, gh = _affine(x, w_ih, b_ih), _affine(h_prev, w_hh, b_hh)
    ir, iz, i_n = np.split(gi, 3, axis=1)
    hr, hz, hn = np.split(gh, 3, axis=1)
    r, z = sigmoid(ir + hr), sigmoid(iz + hz)
    return r, z, np.tanh(i_n + r * hn), hn


def gru_cell(x: np.ndarray, h_prev: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray | None,
             b_hh: np.ndarray | None) -> np.ndarray:
    """h = (1 - z) n + z h_prev with r, z = sigmoid(.), n = tanh(W_in x + b_in + r (W_hn h_prev + b_hn))."""
    _, z, n, _ = _gru_gates(x, h_prev, w_ih, w_hh, b_ih, b_hh)
    return (1 - z) * n + z * h_prev


def gru_cell_backward(dh: np.ndarray, x: np.ndarray, h_prev: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                      b_ih: np.ndarray | None, b_hh: np.ndarray | None) -> Grads:
    """Gradients of gru_cell: x, h_prev, w_ih, w_hh, b_ih, b_hh."""
    r, z, n, hn = _gru_gates(x, h_prev, w_ih, w_hh, b_ih, b_hh)
    dn = dh * (1 - z) * (1 - n * n)
    dz = dh * (h_prev - n) * z * (1 - z)
    dr = dn * hn * r * (1 - r)
    grads = _param_grads(np.concatenate([dr, dz, dn], 1), np.concatenate([dr, dz, dn * r], 1), x, h_prev,
                         w_ih, w_hh)
    grads["h_prev"] = grads["h_prev"] + dh * z
    return grads


def _lstm_gates(x, h_prev, w_ih, w_hh, b_ih, b_hh):  # type: ignore[no-untyped-def]
    i, f, g, o = np.split(_affine(x, w_ih, b_ih) + _affine(h_prev, w_hh, b_hh), 4, axis=1)
    return sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)


def lstm_cell(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
              b_ih: np.ndarray | None, b_hh: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(h, c): c = f c_prev + i g, h = o tanh(c); i, f, o = sigmoid(.), g = tanh(.)."""
    i, f, g, o = _lstm_gates(x, h_prev, w_ih, w_hh, b_ih, b_hh)
    c = f * c_prev + i * g
    return o * np.tanh(c), c


def lstm_cell_backward(dh: np.ndarray, dc: np.ndarray, x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray,
                       w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray | None,
                       b_hh: np.ndarray | None) -> Grads:
    """Gradients of lstm_cell from dh and dc: x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh."""
    i, f, g, o = _lstm_gates(x, h_prev, w_ih, w_hh, b_ih, b_hh)
    tc = np.tanh(f * c_prev + i * g)
    dct = dc + dh * o * (1 - tc * tc)
    dg = np.concatenate([dct * g * i * (1 - i), dct * c_prev * f * (1 - f), dct * i * (1 - g * g),
                         dh * tc * o * (1 - o)], 1)
    grads = _param_grads(dg, dg, x, h_prev, w_ih, w_hh)
    grads["c_prev"] = dct * f
    return grads
