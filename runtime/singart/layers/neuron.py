"""Neuron layers (SINGA v0.1 section 1.3) on the oneDNN kernels, and the registry of them and the losses.

Every layer keeps its output and gradient buffers across steps (fresh pages are slow). Under feature
partitioning the executor hands a layer its param blocks, so a layer only ever uses the arrays it gets.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops
from ..params.seeds import make_rng
from .base import Layer, LayerContext
from .loss import LOSS_LAYERS

STANH_A, STANH_B = 1.7159, 2.0 / 3.0


class NeuronLayer(Layer):
    """A layer with reusable buffers and params looked up by role."""

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        self._bufs: dict[str, np.ndarray] = {}
        # per input, whether backward must return its gradient (the executor clears the flags of
        # inputs no param lies behind, e.g. the data, so their gradients are never computed)
        self.needs_dx: list[bool] = []
        roles = [p.role for p in ctx.node.params if p.role]
        self.roles = roles or list(self.param_roles[:len(ctx.node.params) or None])

    def buf(self, key: str, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        """A buffer kept across steps; made anew only when the shape changes."""
        b = self._bufs.get(key)
        if b is None or b.shape != tuple(shape) or b.dtype != dtype:
            b = self._bufs[key] = np.empty(shape, dtype)
        return b

    def wants_dx(self, i: int) -> bool:
        """Whether backward must compute the gradient of input `i` (yes unless told otherwise)."""
        return i >= len(self.needs_dx) or self.needs_dx[i]

    def param(self, values: list[np.ndarray], role: str) -> np.ndarray | None:
        """The value (or gradient buffer) of the param with `role`, None when the layer has none."""
        return values[self.roles.index(role)] if role in self.roles and values else None

    def weight(self, values: list[np.ndarray]) -> np.ndarray:
        """The weight (or its gradient buffer), which the layers that have params always have."""
        w = self.param(values, "weight")
        if w is None:
            raise ValueError(f"layer {self.ctx.node.name}: no weight param")
        return w


def _given(dy: np.ndarray | None) -> np.ndarray:
    """A neuron layer's backward always receives its output's gradient (only loss layers get None)."""
    if dy is None:
        raise ValueError("a neuron layer's backward needs the gradient of its output")
    return dy


def _positive(value: int, field: str) -> int:
    if value < 1:
        raise ValueError(f"{field} must be a positive integer, got {value}")
    return int(value)


class ConvolutionLayer(NeuronLayer):
    """kConvolution / kCConvolution: weight (filters, C*k*k), bias (filters); NCHW."""

    param_roles = ("weight", "bias")

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        conf = ctx.conf.convolution_conf
        self.k = _positive(conf.kernel, "convolution_conf.kernel")
        self.stride, self.pad = _positive(conf.stride, "convolution_conf.stride"), int(conf.pad)

    def _out_size(self, d: int) -> int:
        return (d + 2 * self.pad - self.k) // self.stride + 1

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        x = inputs[0]
        self.in_shape = x.shape
        self.x = x if x.ndim == 4 else x.reshape(x.shape[0], -1, *x.shape[-2:])
        self.w, b = self.weight(params), self.param(params, "bias")
        n, _, h, w = self.x.shape
        y = self.buf("y", (n, self.w.shape[0], self._out_size(h), self._out_size(w)))
        return ops.conv2d(self.x, self.w, b, y, self.stride, self.pad)

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = _given(dy)
        ops.conv2d_backward_weights(self.x, dy, self.weight(grads), self.param(grads, "bias"),
                                    self.stride, self.pad)
        if not self.wants_dx(0):
            return [None]
        dx = ops.conv2d_backward_data(dy, self.w, self.x.shape, self.buf("dx", self.x.shape), self.stride,
                                      self.pad)
        return [dx.reshape(self.in_shape)]


class PoolingLayer(NeuronLayer):
    """kPooling / kCPooling: MAX or AVG, no padding, output floor((H - k) / s) + 1."""

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        conf = ctx.conf.pooling_conf
        self.k = _positive(conf.kernel, "pooling_conf.kernel")
        self.stride = _positive(conf.stride, "pooling_conf.stride")
        self.is_max = conf.pool == type(conf).MAX
        self.ws_shape: tuple[int, ...] | None = None

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        self.x_shape = x_shape = inputs[0].shape
        if self.ws_shape != x_shape:  # the argmax workspace is kept like the other buffers
            self.ws, self.ws_shape = ops.pool_workspace(x_shape, self.k, self.stride, self.is_max), x_shape
        n, c, h, w = x_shape
        y = self.buf("y", (n, c, (h - self.k) // self.stride + 1, (w - self.k) // self.stride + 1))
        return ops.pool(inputs[0], self.k, self.stride, self.is_max, self.ws, y)

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = _given(dy)
        dx = self.buf("dx", self.x_shape)
        return [ops.pool_backward(dy, self.ws, self.x_shape, self.k, self.stride, self.is_max, dx)]


class LRNLayer(NeuronLayer):
    """kLRN across channels: y = x * (knorm + alpha/local_size * window sum of x^2) ^ -beta."""

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        conf = ctx.conf.lrn_conf
        self.size = _positive(conf.local_size, "lrn_conf.local_size")
        if self.size % 2 == 0:
            raise ValueError(f"lrn_conf.local_size must be odd, got {self.size}")
        self.args = (self.size, float(conf.alpha), float(conf.beta), float(conf.knorm))
        self.ws_shape: tuple[int, ...] | None = None

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        self.x = inputs[0]
        if self.ws_shape != self.x.shape:
            self.ws, self.ws_shape = ops.lrn_workspace(self.x.shape, *self.args), self.x.shape
        return ops.lrn(self.x, *self.args, self.ws, self.buf("y", self.x.shape))

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = _given(dy)
        return [ops.lrn_backward(self.x, dy, self.ws, *self.args, self.buf("dx", self.x.shape))]


class ActivationLayer(NeuronLayer):
    """kReLU, kSigmoid, kTanh: backward runs from the output."""

    kind = "relu"

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        self.y = ops.activation(self.kind, inputs[0], self.buf("y", inputs[0].shape))
        return self.y

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = _given(dy)
        return [ops.activation_backward(self.kind, self.y, dy, self.buf("dx", self.y.shape))]


class ReLULayer(ActivationLayer):
    kind = "relu"


class SigmoidLayer(ActivationLayer):
    kind = "sigmoid"


class TanhLayer(ActivationLayer):
    kind = "tanh"


class STanhLayer(NeuronLayer):
    """kSTanh: 1.7159 tanh(2x/3); backward runs from the output."""

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        x = inputs[0]
        self.y = ops.stanh(x, STANH_A, STANH_B, self.buf("y", x.shape))
        return self.y

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = _given(dy)
        return [ops.stanh_backward(self.y, dy, STANH_A, STANH_B, self.buf("dx", dy.shape))]


class DropoutLayer(NeuronLayer):
    """kDropout: inverted dropout in training, identity otherwise. The mask is drawn for the origin
    layer's full output and cut to this node's block, so partitioning does not change it."""

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        self.ratio = float(ctx.conf.dropout_conf.dropout_ratio)
        if not 0.0 <= self.ratio < 1.0:
            raise ValueError(f"dropout_conf.dropout_ratio must be in [0, 1), got {self.ratio}")

    def _mask(self, shape: tuple[int, ...], step: int) -> np.ndarray:
        node = self.ctx.node
        full = tuple(int(d) for d in node.origin_shape) or shape
        rng = make_rng(self.ctx.seed, node.origin or node.name, step)
        keep = rng.random(full, dtype=np.float32) >= np.float32(self.ratio)
        index = [slice(None)] * len(full)
        for r in node.block:
            index[r.axis] = slice(r.begin, r.end)
        mask = self.buf("mask", shape)
        np.multiply(keep[tuple(index)].reshape(shape), np.float32(1.0 / (1.0 - self.ratio)), out=mask)
        return mask

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        x = inputs[0]
        if not self.ctx.train:
            self.mask = None
            return x
        self.mask = self._mask(x.shape, step)
        return np.multiply(x, self.mask, out=self.buf("y", x.shape))

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = _given(dy)
        if self.mask is None:
            return [dy]
        return [np.multiply(dy, self.mask, out=self.buf("dx", dy.shape))]


class InnerProductLayer(NeuronLayer):
    """kInnerProduct: y = x W^T + b on x flattened to [B, vdim]; W (hdim, vdim), or (vdim, hdim) with
    `transpose`. The output width is the (possibly partitioned) weight block's."""

    param_roles = ("weight", "bias")

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        self.transpose = bool(ctx.conf.innerproduct_conf.transpose)
        # set by the executor when training: called with (dy, x) after dx, it may give a Fold: apply the
        # weight's update as w = beta w + alpha dw inside the dw GEMM (saving a pass over w and the
        # gradient buffer); the weight passed to forward is then the param's value itself
        self.weight_fold: Callable[[np.ndarray, np.ndarray], Any] | None = None
        # set by the worker group when every worker holds a replica of this layer: its products are then
        # computed together with the others (see folding.ReplicaShare)
        self.replicas: Any = None

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        self.in_shape = inputs[0].shape
        self.x = inputs[0].reshape(self.in_shape[0], -1)
        self.w, b = self.weight(params), self.param(params, "bias")
        vdim = self.w.shape[0] if self.transpose else self.w.shape[1]
        if self.x.shape[1] != vdim:
            raise ValueError(f"layer {self.ctx.node.name}: input has {self.x.shape[1]} features, "
                             f"weight {self.w.shape} expects {vdim}")
        hdim = self.w.shape[1] if self.transpose else self.w.shape[0]
        y = self.buf("y", (self.x.shape[0], hdim))
        if self.replicas is not None:
            return self.replicas.forward(self.x, self.w, b, y)
        return ops.inner_product(self.x, self.w, b, y, self.transpose)

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = _given(dy)
        if self.replicas is not None and self.weight_fold is not None:
            dx = self.buf("dx", self.x.shape) if self.wants_dx(0) else None
            if self.replicas.backward(dy, self.w, dx, self.weight_fold):
                self._bias_grad(dy, grads)
                return [None if dx is None else dx.reshape(self.in_shape)]
        dx = None  # before the weights change, when their update is folded into the dw GEMM
        if self.wants_dx(0):
            dx = ops.inner_product_backward_data(dy, self.w, self.buf("dx", self.x.shape), self.transpose)
        fold = self.weight_fold(dy, self.x) if self.weight_fold is not None else None
        if fold is None:
            ops.inner_product_backward_weights(self.x, dy, self.weight(grads), self.param(grads, "bias"),
                                               self.transpose)
        else:  # this step's update, straight into (rows of) the weight
            ops.inner_product_backward_weights(fold.x, fold.dy, self.w[fold.rows], None, self.transpose,
                                               alpha=fold.alpha, beta=fold.beta)
            self._bias_grad(dy, grads)
        return [None if dx is None else dx.reshape(self.in_shape)]

    def _bias_grad(self, dy: np.ndarray, grads: list[np.ndarray]) -> None:
        db = self.param(grads, "bias")
        if db is not None:
            np.sum(dy, axis=0, out=db)


NEURON_LAYERS: dict[str, type[Layer]] = {
    "kConvolution": ConvolutionLayer,
    "kCConvolution": ConvolutionLayer,
    "kPooling": PoolingLayer,
    "kCPooling": PoolingLayer,
    "kLRN": LRNLayer,
    "kReLU": ReLULayer,
    "kSigmoid": SigmoidLayer,
    "kTanh": TanhLayer,
    "kSTanh": STanhLayer,
    "kDropout": DropoutLayer,
    "kInnerProduct": InnerProductLayer,
    **LOSS_LAYERS,
}
