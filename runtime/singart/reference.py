"""The NumPy reference of every kernel, forward and backward: the executable spec the C++ and CUDA
kernels are tested against. Plain loops over small windows, any float dtype, no speed concerns."""
from __future__ import annotations

import numpy as np

STANH_A, STANH_B = 1.7159, 2.0 / 3.0


def gemm(a: np.ndarray, b: np.ndarray, trans_a: bool = False, trans_b: bool = False) -> np.ndarray:
    """op(a) @ op(b)."""
    return (a.T if trans_a else a) @ (b.T if trans_b else b)


def inner_product(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, transpose: bool = False) -> np.ndarray:
    """y = x W^T + b; with `transpose` the weight is stored (vdim, hdim) and y = x W + b."""
    y = x @ (w if transpose else w.T)
    return y if b is None else y + b


def inner_product_backward(x: np.ndarray, w: np.ndarray, dy: np.ndarray,
                           transpose: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) of inner_product."""
    dx = dy @ (w.T if transpose else w)
    dw = x.T @ dy if transpose else dy.T @ x
    return dx, dw, dy.sum(axis=0)


def out_size(size: int, k: int, stride: int, pad: int = 0) -> int:
    """SINGA's floor output size of a window op."""
    return (size + 2 * pad - k) // stride + 1


def im2col(x: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    """[N, C, H, W] -> [N, C*k*k, OH*OW], rows ordered (c, ki, kj) as the weight's columns."""
    n, c, h, w = x.shape
    oh, ow = out_size(h, k, stride, pad), out_size(w, k, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((n, c, k, k, oh, ow), x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
    return cols.reshape(n, c * k * k, oh * ow)


def col2im(cols: np.ndarray, shape: tuple[int, ...], k: int, stride: int, pad: int) -> np.ndarray:
    """The adjoint of im2col: sums each column entry back into the pixel it was read from."""
    n, c, h, w = shape
    oh, ow = out_size(h, k, stride, pad), out_size(w, k, stride, pad)
    cols = cols.reshape(n, c, k, k, oh, ow)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), cols.dtype)
    for i in range(k):
        for j in range(k):
            xp[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride] += cols[:, :, i, j]
    return xp[:, :, pad:pad + h, pad:pad + w]


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: int, pad: int) -> np.ndarray:
    """NCHW convolution; w is (filters, C*k*k) or (filters, C, k, k)."""
    n, c, h, wd = x.shape
    k = round((w.size // (w.shape[0] * c)) ** 0.5)
    y = np.einsum("fr,nrp->nfp", w.reshape(w.shape[0], -1), im2col(x, k, stride, pad))
    if b is not None:
        y = y + b[None, :, None]
    return y.reshape(n, w.shape[0], out_size(h, k, stride, pad), out_size(wd, k, stride, pad))


def conv2d_backward(x: np.ndarray, w: np.ndarray, dy: np.ndarray, stride: int,
                    pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) of conv2d; dw has w's shape."""
    k = round((w.size // (w.shape[0] * x.shape[1])) ** 0.5)
    w2 = w.reshape(w.shape[0], -1)
    dy2 = dy.reshape(dy.shape[0], dy.shape[1], -1)
    dx = col2im(np.einsum("fr,nfp->nrp", w2, dy2), x.shape, k, stride, pad)
    dw = np.einsum("nfp,nrp->fr", dy2, im2col(x, k, stride, pad)).reshape(w.shape)
    return dx, dw, dy2.sum(axis=(0, 2))


def _windows(x: np.ndarray, k: int, stride: int) -> np.ndarray:
    """[N, C, OH, OW, k*k] views of the pooling windows."""
    cols = im2col(x, k, stride, 0)
    n, c = x.shape[:2]
    oh, ow = out_size(x.shape[2], k, stride), out_size(x.shape[3], k, stride)
    return cols.reshape(n, c, k * k, oh, ow).transpose(0, 1, 3, 4, 2)


def pool(x: np.ndarray, k: int, stride: int, is_max: bool) -> np.ndarray:
    """Max or average pooling without padding, floor output size."""
    win = _windows(x, k, stride)
    return win.max(axis=-1) if is_max else win.mean(axis=-1)


def pool_backward(x: np.ndarray, dy: np.ndarray, k: int, stride: int, is_max: bool) -> np.ndarray:
    """dx of pool: max sends each gradient to its window's first maximum; average spreads it evenly."""
    win = _windows(x, k, stride)
    if is_max:
        g = (np.arange(k * k) == win.argmax(axis=-1)[..., None]) * dy[..., None]
    else:
        g = np.broadcast_to(dy[..., None] / (k * k), win.shape)
    n, c, oh, ow, _ = g.shape
    cols = g.transpose(0, 1, 4, 2, 3).reshape(n, c * k * k, oh * ow)
    return col2im(cols, x.shape, k, stride, 0)


def _lrn_sum(v: np.ndarray, size: int) -> np.ndarray:
    """Sums of v over the channel window [c - size//2, c + size//2] (clipped at the edges)."""
    half = size // 2
    vp = np.pad(v, ((0, 0), (half, half), (0, 0), (0, 0)))
    out = np.zeros_like(v)
    for i in range(size):
        out += vp[:, i:i + v.shape[1]]
    return out


def lrn(x: np.ndarray, size: int, alpha: float, beta: float, knorm: float) -> np.ndarray:
    """y = x * (knorm + alpha/size * window sum of x^2) ^ -beta."""
    return x * (knorm + alpha / size * _lrn_sum(x * x, size)) ** -beta


def lrn_backward(x: np.ndarray, dy: np.ndarray, size: int, alpha: float, beta: float,
                 knorm: float) -> np.ndarray:
    """dx of lrn (the window is symmetric, so the adjoint sums over the same window)."""
    norm = knorm + alpha / size * _lrn_sum(x * x, size)
    inner = _lrn_sum(dy * x * norm ** (-beta - 1), size)
    return dy * norm ** -beta - 2 * alpha * beta / size * x * inner


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def relu_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    return dy * (y > 0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def sigmoid_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    return dy * y * (1 - y)


def tanh_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    return dy * (1 - y * y)


def stanh(x: np.ndarray) -> np.ndarray:
    """SINGA's scaled tanh, 1.7159 tanh(2x/3)."""
    return STANH_A * np.tanh(STANH_B * x)


def stanh_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    t = y / STANH_A
    return dy * STANH_A * STANH_B * (1 - t * t)


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a 2-D array."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_loss(x: np.ndarray, labels: np.ndarray, full_batch: int,
                 scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(per-row cross-entropy, gradient (p - onehot) * scale / full_batch) of softmax over x's rows."""
    p = softmax(x)
    rows = np.arange(len(labels))
    loss = -np.log(np.maximum(p[rows, labels], np.finfo(p.dtype).tiny))
    p[rows, labels] -= 1
    return loss, p * (scale / full_batch)


def topk_correct(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """1 for rows whose label scores among the top k (ties in the label's favour), else 0."""
    label_score = x[np.arange(len(labels)), labels]
    return ((x > label_score[:, None]).sum(axis=1) < k).astype(np.float64)


def euclidean_loss(pred: np.ndarray, target: np.ndarray,
                   full_batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(per-row sum of squared differences, gradient (pred - target) / full_batch), as SINGA v0.1
    reports and computes them (its gradient leaves out the factor 2 of the squared error)."""
    d = pred - target
    return (d * d).reshape(len(d), -1).sum(axis=1), d / full_batch


def dropout_mask(shape: tuple[int, ...], ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Inverted dropout's mask: 1/(1-ratio) where kept (a float32 draw >= ratio), 0 where dropped."""
    keep = rng.random(shape, dtype=np.float32) >= np.float32(ratio)
    return keep / (1.0 - ratio)
