"""Neuron layers (SINGA v0.1 section 1.3) on the oneDNN kernels.

Every layer keeps its output and gradient buffers across steps (fresh pages are slow). Under feature
partitioning the executor hands a layer its param blocks, so a layer only ever uses the arrays it gets.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from singa_spec import shapes

from .. import layout, ops
from ..params.seeds import make_rng
from .base import Layer, LayerContext
from .registry import implements

if TYPE_CHECKING:
    from ..folding import FoldOffer, Replica

STANH_A, STANH_B = 1.7159, 2.0 / 3.0


def _given(dy: np.ndarray | None) -> np.ndarray:
    """A neuron layer's backward always receives its output's gradient (only loss layers get None)."""
    if dy is None:
        raise ValueError("a neuron layer's backward needs the gradient of its output")
    return dy


def _positive(value: int, field: str) -> int:
    if value < 1:
        raise ValueError(f"{field} must be a positive integer, got {value}")
    return int(value)


@implements("kConvolution", "kCConvolution")
class ConvolutionLayer(Layer):
    """kConvolution / kCConvolution: weight (filters, C*k*k), bias (filters). Its output is channels-last
    (layout.py); its input and gradients may be in either layout."""

    channels_last = True

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        conf = ctx.conf.convolution_conf
        self.k = _positive(conf.kernel, "convolution_conf.kernel")
        self.stride, self.pad = _positive(conf.stride, "convolution_conf.stride"), int(conf.pad)

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        x = inputs[0]
        self.in_shape = x.shape
        self.x = x if x.ndim == 4 else x.reshape(x.shape[0], -1, *x.shape[-2:])
        self.w, b = self.weight(params), self.param(params, "bias")
        # the spec's output size; the filters are the weight block's (a feature partition has some)
        n, _, oh, ow = shapes.convolution(self.ctx.conf, [self.x.shape])
        y = self.buf("y", (n, self.w.shape[0], oh, ow), channels_last=True)
        return ops.conv2d(self.x, self.w, b, y, self.stride, self.pad)

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = _given(dy)
        ops.conv2d_backward_weights(self.x, dy, self.weight(grads), self.param(grads, "bias"),
                                    self.stride, self.pad)
        if not self.wants_dx(0):
            return [None]
        dx = self.buf("dx", self.x.shape, channels_last=layout.is_channels_last(self.x))
        ops.conv2d_backward_data(dy, self.w, self.x.shape, dx, self.stride, self.pad)
        return [dx.reshape(self.in_shape)]


@implements("kPooling", "kCPooling")
class PoolingLayer(Layer):
    """kPooling / kCPooling: MAX or AVG, no padding, output floor((H - k) / s) + 1, in its input's layout."""

    channels_last = True

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        conf = ctx.conf.pooling_conf
        self.k = _positive(conf.kernel, "pooling_conf.kernel")
        self.stride = _positive(conf.stride, "pooling_conf.stride")
        self.is_max = conf.pool == type(conf).MAX
        self.ws_shape: tuple[tuple[int, ...], bool] | None = None

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        x = inputs[0]
        self.x_shape, self.nhwc = x.shape, layout.is_channels_last(x)  # y (and dx) keep x's layout
        if self.ws_shape != (x.shape, self.nhwc):  # the argmax workspace is kept like the other buffers
            self.ws = ops.pool_workspace(x.shape, self.k, self.stride, self.is_max, self.nhwc)
            self.ws_shape = (x.shape, self.nhwc)
        y = self.buf("y", shapes.pooling(self.ctx.conf, [x.shape]), channels_last=self.nhwc)
        return ops.pool(x, self.k, self.stride, self.is_max, self.ws, y)

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        given = _given(dy)  # in x's layout, as the workspace's argmax is
        dy_in = layout.as_layout(given, self.nhwc,
                                 lambda: self.buf("dy", given.shape, channels_last=self.nhwc))
        dx = self.buf("dx", self.x_shape, channels_last=self.nhwc)
        return [ops.pool_backward(dy_in, self.ws, self.x_shape, self.k, self.stride, self.is_max, dx)]


@implements("kLRN")
class LRNLayer(Layer):
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


class ElementwiseLayer(Layer):
    """A layer applied value by value: its output (and input gradient) keep its input's memory layout."""

    channels_last = True

    def out_buf(self, key: str, like: np.ndarray) -> np.ndarray:
        """A buffer of `like`'s shape and layout."""
        return self.buf(key, like.shape, channels_last=layout.is_channels_last(like))

    def in_layout_of(self, dy: np.ndarray | None, y: np.ndarray) -> np.ndarray:
        """The gradient dy in y's layout (copied when it came in the other one)."""
        return layout.as_layout(_given(dy), layout.is_channels_last(y), lambda: self.out_buf("dy", y))


class ActivationLayer(ElementwiseLayer):
    """kReLU, kSigmoid, kTanh: backward runs from the output."""

    kind = "relu"

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        self.y = ops.activation(self.kind, inputs[0], self.out_buf("y", inputs[0]))
        return self.y

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = self.in_layout_of(dy, self.y)
        return [ops.activation_backward(self.kind, self.y, dy, self.out_buf("dx", self.y))]


@implements("kReLU")
class ReLULayer(ActivationLayer):
    kind = "relu"


@implements("kSigmoid")
class SigmoidLayer(ActivationLayer):
    kind = "sigmoid"


@implements("kTanh")
class TanhLayer(ActivationLayer):
    kind = "tanh"


@implements("kSTanh")
class STanhLayer(ElementwiseLayer):
    """kSTanh: 1.7159 tanh(2x/3); backward runs from the output."""

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        self.y = ops.stanh(inputs[0], STANH_A, STANH_B, self.out_buf("y", inputs[0]))
        return self.y

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = self.in_layout_of(dy, self.y)
        return [ops.stanh_backward(self.y, dy, STANH_A, STANH_B, self.out_buf("dx", self.y))]


@implements("kDropout")
class DropoutLayer(Layer):
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


@implements("kInnerProduct")
class InnerProductLayer(Layer):
    """kInnerProduct: y = x W^T + b on x flattened to [B, vdim]; W (hdim, vdim), or (vdim, hdim) with
    `transpose`. The output width is the (possibly partitioned) weight block's. Implements
    folding.FoldingLayer: its weight update may be folded into the dw GEMM, and its replicas in a
    group's workers may compute their products together."""

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        self.transpose = bool(ctx.conf.innerproduct_conf.transpose)
        self.fold: FoldOffer | None = None
        self.replica: Replica | None = None

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
        if self.replica is not None:
            return self.replica.forward(self.x, self.w, b, y)
        return ops.inner_product(self.x, self.w, b, y, self.transpose)

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = _given(dy)
        if self.replica is not None and self.fold is not None:
            dx = self.buf("dx", self.x.shape) if self.wants_dx(0) else None
            if self.replica.backward(dy, self.w, dx, self.fold):
                self._bias_grad(dy, grads)
                return [None if dx is None else dx.reshape(self.in_shape)]
        dx = None  # before the weights change, when their update is folded into the dw GEMM
        if self.wants_dx(0):
            dx = ops.inner_product_backward_data(dy, self.w, self.buf("dx", self.x.shape), self.transpose)
        coef = self.fold.coefficients() if self.fold is not None else None
        if coef is None:
            ops.inner_product_backward_weights(self.x, dy, self.weight(grads), self.param(grads, "bias"),
                                               self.transpose)
        else:  # this step's update, straight into the weight
            ops.inner_product_backward_weights(self.x, dy, self.w, None, self.transpose, *coef)
            self._bias_grad(dy, grads)
        return [None if dx is None else dx.reshape(self.in_shape)]

    def _bias_grad(self, dy: np.ndarray, grads: list[np.ndarray]) -> None:
        db = self.param(grads, "bias")
        if db is not None:
            np.sum(dy, axis=0, out=db)


@implements("kSplit")
class SplitLayer(Layer):
    """kSplit as a user declares it: hands its input to every consumer (the executor sums their
    gradients before this layer's backward, which passes the sum on)."""

    channels_last = True  # whatever it gets, it hands on

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> Any:
        return inputs[0]

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        return [_given(dy)]


@implements("kConcate")
class ConcateLayer(Layer):
    """kConcate: joins its inputs along concate_conf.concate_dim; backward cuts the gradient back."""

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        self.axis = int(ctx.conf.concate_conf.concate_dim)

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        self.sizes = [int(x.shape[self.axis]) for x in inputs]
        shape = list(inputs[0].shape)
        shape[self.axis] = sum(self.sizes)
        return np.concatenate(inputs, axis=self.axis, out=self.buf("y", tuple(shape)))

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        cuts = np.cumsum(self.sizes)[:-1]
        return list(np.split(_given(dy), cuts, axis=self.axis))
