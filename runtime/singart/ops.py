"""The kernels as the layers call them: plain functions over float32 C-contiguous NumPy arrays (4-D
activations may also be channels-last, see layout.py, where a kernel says so).

Outputs go into `out` when given (layers keep their buffers across steps), else into a new array.
Shapes are checked here or in the binding; a mismatch raises ValueError naming the argument.
"""
from __future__ import annotations

import os

import numpy as np

# OpenMP threads that finish their share of a kernel sleep instead of spinning (libgomp reads this when
# the import below loads it): on a shared machine a spinning team stalls whenever one of its cores is
# busy elsewhere (LeNet at 2 threads next to another job: 290 -> 23 ms a step). OMP_WAIT_POLICY=ACTIVE
# in the environment restores spinning.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._native import kernels as _k  # after the OpenMP setting above

# The binding's activation numbers, keyed by the names the layers use.
ACTIVATIONS = {"relu": 0, "tanh": 1, "sigmoid": 2}


def _out(out: np.ndarray | None, shape: tuple[int, ...], name: str = "out") -> np.ndarray:
    if out is None:
        return np.empty(shape, np.float32)
    if out.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {out.shape}")
    return out


def _kernel_size(w: np.ndarray, channels: int) -> int:
    """The k of a (filters, C*k*k) or (filters, C, k, k) convolution weight."""
    per_filter = w.size // max(w.shape[0], 1)
    k = round((per_filter / channels) ** 0.5) if channels else 0
    if k < 1 or k * k * channels != per_filter:
        raise ValueError(f"w: shape {w.shape} is not (filters, {channels}*k*k) for {channels} input channels")
    return k


def _as4d(w: np.ndarray, channels: int) -> np.ndarray:
    k = _kernel_size(w, channels)
    return w.reshape(w.shape[0], channels, k, k)


def set_num_threads(n: int) -> None:
    """Set the OpenMP threads of the calling thread's kernels (each worker thread sets its own)."""
    _k.set_num_threads(int(n))


def get_num_threads() -> int:
    """The OpenMP threads the calling thread's kernels use."""
    return int(_k.get_num_threads())


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, trans_a: bool = False,
         trans_b: bool = False, alpha: float = 1.0, beta: float = 0.0) -> np.ndarray:
    """out = alpha * op(a) op(b) + beta * out (dnnl_sgemm)."""
    m = a.shape[1] if trans_a else a.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    out = _out(out, (m, n))
    _k.sgemm(a, b, out, trans_a, trans_b, alpha, beta)
    return out


def inner_product(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, out: np.ndarray | None = None,
                  transpose: bool = False) -> np.ndarray:
    """y = x W^T + b for W (hdim, vdim), or x W + b for W (vdim, hdim) with `transpose`."""
    hdim = w.shape[1] if transpose else w.shape[0]
    out = _out(out, (x.shape[0], hdim))
    _k.matmul(x, w, b, out, False, not transpose)
    return out


def inner_product_backward_data(dy: np.ndarray, w: np.ndarray, out: np.ndarray | None = None,
                                transpose: bool = False) -> np.ndarray:
    """dx = dy W (or dy W^T with `transpose`)."""
    return gemm(dy, w, out, trans_b=transpose)


def inner_product_backward_weights(x: np.ndarray, dy: np.ndarray, dw: np.ndarray, db: np.ndarray | None,
                                   transpose: bool = False, alpha: float = 1.0, beta: float = 0.0) -> None:
    """dw = alpha dy^T x + beta dw (x^T dy with `transpose`); db = column sums of dy. Overwrites db."""
    if transpose:
        gemm(x, dy, dw, trans_a=True, alpha=alpha, beta=beta)
    else:
        gemm(dy, x, dw, trans_a=True, alpha=alpha, beta=beta)
    if db is not None:
        np.sum(dy, axis=0, out=db)


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, out: np.ndarray | None = None,
           stride: int = 1, pad: int = 0) -> np.ndarray:
    """NCHW convolution with w (filters, C*k*k) or (filters, C, k, k); SINGA's floor output size."""
    w4 = _as4d(w, x.shape[1])
    k = w4.shape[2]
    oh, ow = ((x.shape[2] + 2 * pad - k) // stride + 1, (x.shape[3] + 2 * pad - k) // stride + 1)
    out = _out(out, (x.shape[0], w.shape[0], oh, ow))
    _k.conv_forward(x, w4, b, out, stride, pad)
    return out


def conv2d_backward_data(dy: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...],
                         out: np.ndarray | None = None, stride: int = 1, pad: int = 0) -> np.ndarray:
    """dx of conv2d, of shape `x_shape`."""
    out = _out(out, tuple(x_shape))
    _k.conv_backward_data(dy, _as4d(w, x_shape[1]), out, stride, pad)
    return out


def conv2d_backward_weights(x: np.ndarray, dy: np.ndarray, dw: np.ndarray, db: np.ndarray | None,
                            stride: int = 1, pad: int = 0) -> None:
    """dw (w's shape) and db (or None) of conv2d. Overwrites them."""
    _k.conv_backward_weights(x, dy, _as4d(dw, x.shape[1]), db, stride, pad)


def _pool_out(x_shape: tuple[int, ...], k: int, stride: int) -> tuple[int, int, int, int]:
    n, c, h, w = x_shape
    return n, c, (h - k) // stride + 1, (w - k) // stride + 1


def pool_workspace(x_shape: tuple[int, ...], k: int, stride: int, is_max: bool,
                   channels_last: bool = False) -> np.ndarray:
    """The buffer pool() fills and pool_backward() reads (max pooling's argmax) for inputs of that shape
    and layout; keep one per layer."""
    return np.zeros(_k.pool_workspace_bytes(list(x_shape), k, stride, is_max, channels_last), np.uint8)


def pool(x: np.ndarray, k: int, stride: int, is_max: bool, ws: np.ndarray,
         out: np.ndarray | None = None) -> np.ndarray:
    """Max or average pooling without padding; output floor((H - k) / s) + 1."""
    out = _out(out, _pool_out(x.shape, k, stride))
    _k.pool_forward(x, out, ws, k, stride, is_max)
    return out


def pool_backward(dy: np.ndarray, ws: np.ndarray, x_shape: tuple[int, ...], k: int, stride: int,
                  is_max: bool, out: np.ndarray | None = None) -> np.ndarray:
    """dx of pool, from the workspace its forward filled."""
    out = _out(out, tuple(x_shape))
    _k.pool_backward(dy, ws, out, k, stride, is_max)
    return out


def lrn_workspace(x_shape: tuple[int, ...], size: int, alpha: float, beta: float,
                  knorm: float) -> np.ndarray:
    """The buffer lrn() fills and lrn_backward() reads; keep one per layer."""
    return np.zeros(_k.lrn_workspace_bytes(list(x_shape), size, alpha, beta, knorm), np.uint8)


def lrn(x: np.ndarray, size: int, alpha: float, beta: float, knorm: float, ws: np.ndarray,
        out: np.ndarray | None = None) -> np.ndarray:
    """Across-channel LRN: y = x * (knorm + alpha/size * window sum of x^2) ^ -beta."""
    out = _out(out, x.shape)
    _k.lrn_forward(x, out, ws, size, alpha, beta, knorm)
    return out


def lrn_backward(x: np.ndarray, dy: np.ndarray, ws: np.ndarray, size: int, alpha: float, beta: float,
                 knorm: float, out: np.ndarray | None = None) -> np.ndarray:
    """dx of lrn."""
    out = _out(out, x.shape)
    _k.lrn_backward(x, dy, ws, out, size, alpha, beta, knorm)
    return out


def _act_kind(kind: str) -> int:
    if kind not in ACTIVATIONS:
        raise ValueError(f"unknown activation {kind!r}; known: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[kind]


def activation(kind: str, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """y = relu / tanh / sigmoid of x."""
    out = _out(out, x.shape)
    _k.act_forward(_act_kind(kind), x, out)
    return out


def activation_backward(kind: str, y: np.ndarray, dy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """dx of activation, computed from its output y."""
    out = _out(out, y.shape)
    _k.act_backward(_act_kind(kind), y, dy, out)
    return out


def stanh(x: np.ndarray, a: float, b: float, out: np.ndarray | None = None) -> np.ndarray:
    """y = a tanh(b x)."""
    out = _out(out, x.shape)
    _k.stanh_forward(x, out, a, b)
    return out


def stanh_backward(y: np.ndarray, dy: np.ndarray, a: float, b: float,
                   out: np.ndarray | None = None) -> np.ndarray:
    """dx of stanh, computed from its output y."""
    out = _out(out, y.shape)
    _k.stanh_backward(y, dy, out, a, b)
    return out


def sgd_update(w: np.ndarray, g: np.ndarray, h: np.ndarray | None, lr: float, wd: float, momentum: float,
               grad_scale: float = 1.0) -> None:
    """In place, one pass: g' = grad_scale g + wd w; with momentum h = m h - lr g', w += h; else w -= lr g'."""
    _k.sgd_update(w, g, h, lr, wd, momentum, grad_scale)


def axpby(alpha: float, x: np.ndarray, beta: float, y: np.ndarray) -> None:
    """y = beta y + alpha x, in place, one pass."""
    _k.axpby(alpha, x, beta, y)


def softmax(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Row-wise softmax of a 2-D array."""
    out = _out(out, x.shape)
    _k.softmax_forward(x, out)
    return out
