"""The RBM pair (SINGA v0.1 kRBMVis / kRBMHid), trained by contrastive divergence (cd.py).

The visible layer's weight W (hdim, vdim) is shared with the hidden layer (`share_from`). The positive
phase is the executor's forward: the visible layer passes its input v0 on, the hidden layer computes
h0 = act(v0 W^T + c). The negative phase is driven by the CD algorithm: v = sigmoid(s W + b) from a
sample s of the hidden units (the visible units are not sampled, as in Hinton's code and SINGA's), then
h = act(v W^T + c). act is the sigmoid for binary hidden units and the identity for Gaussian ones
(`rbm_conf.gaussian`), whose sample is h + N(0, 1).

Gradients (negative minus positive statistics, over the unpartitioned batch, so the gradients of batch
partitions sum to the whole one): dW = (h_k^T v_k - h_0^T v_0) / B, db = sum(v_k - v_0) / B,
dc = sum(h_k - h_0) / B. Both layers use W, and the store sums their gradients of it: the hidden layer
writes the positive term, the visible layer the negative one.

Samples are drawn for the whole batch from a stream named by (job seed, hidden layer, step, Gibbs
step) and cut to the node's rows, so partitioning does not change them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..params.seeds import make_rng
from .base import Layer, LayerContext
from .loss import LossLayer
from .registry import implements

SQUARED_ERROR = "Squared Error"


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1)


@implements("kRBMHid")
class RBMHidLayer(Layer):
    """kRBMHid: srclayers [the visible layer]; params weight (shared), bias c."""

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        self.gaussian = bool(ctx.conf.rbm_conf.gaussian)

    def _up(self, v: np.ndarray, key: str) -> np.ndarray:
        """act(v W^T + c) into the buffer `key`."""
        h = ops.inner_product(v, self.w, self.c, self.buf(key, (v.shape[0], self.w.shape[0])))
        return h if self.gaussian else ops.activation("sigmoid", h, h)

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        self.w, self.c = self.weight(params), self.param(params, "bias")
        self.v_pos = _flat(inputs[0])
        self.h_pos = self.h_neg = self._up(self.v_pos, "h_pos")
        return self.h_pos

    def negative(self, v: np.ndarray) -> np.ndarray:
        """One negative-phase pass from the reconstruction v."""
        self.v_neg = v
        self.h_neg = self._up(v, "h_neg")
        return self.h_neg

    def sample(self, step: int, gibbs: int) -> np.ndarray:
        """A sample of the hidden units' latest values: Bernoulli(h), or h + N(0, 1) when Gaussian."""
        h = self.h_neg
        node = self.ctx.node
        full = (self.ctx.full_batch, h.shape[1])
        rng = make_rng(self.ctx.seed, node.origin or node.name, step, gibbs)
        begin, end = self.ctx.rows(full[0])
        s = self.buf("sample", h.shape)
        if self.gaussian:
            np.add(h, rng.standard_normal(full, dtype=np.float32)[begin:end], out=s)
        else:
            np.less(rng.random(full, dtype=np.float32)[begin:end], h, out=s, casting="unsafe")
        return s

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        scale = np.float32(1.0 / self.ctx.full_batch)
        ops.gemm(self.h_pos, self.v_pos, self.weight(grads), trans_a=True, alpha=-float(scale))
        dc = self.param(grads, "bias")
        if dc is not None:
            np.subtract(self.h_neg.sum(axis=0), self.h_pos.sum(axis=0), out=dc)
            dc *= scale
        return [None]


@implements("kRBMVis")
class RBMVisLayer(LossLayer):
    """kRBMVis: srclayers [its input, the hidden layer]; params weight W, bias b. Reports the
    reconstruction's `Squared Error` (summed over the features, averaged over the rows) as SINGA did."""

    metric_names = (SQUARED_ERROR,)

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        self.hid: RBMHidLayer | None = None  # its partner, which the CD algorithm finds in the plan

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        self.w, self.b = self.weight(params), self.param(params, "bias")
        self.v_pos = self.v_neg = _flat(inputs[0])
        return self.v_pos

    def negative(self, h_sample: np.ndarray, record: bool) -> np.ndarray:
        """The reconstruction sigmoid(s W + b); `record`: add its squared error to the metric."""
        v = ops.gemm(h_sample, self.w, self.buf("v_neg", self.v_pos.shape))
        if self.b is not None:
            v += self.b
        self.v_neg = ops.activation("sigmoid", v, v)
        if record:
            diff = self.v_pos - self.v_neg
            self.record(len(diff), **{SQUARED_ERROR: np.einsum("ij,ij->i", diff, diff)})
        return self.v_neg

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        """dW's negative term h_k^T v_k / B (the hidden layer's h_k), and db = sum(v_k - v_0) / B."""
        if self.hid is None:
            raise ValueError("the visible layer's gradients need its hidden layer (a kCD job pairs them)")
        scale = np.float32(1.0 / self.ctx.full_batch)
        ops.gemm(self.hid.h_neg, self.v_neg, self.weight(grads), trans_a=True, alpha=float(scale))
        db = self.param(grads, "bias")
        if db is not None:
            np.subtract(self.v_neg.sum(axis=0), self.v_pos.sum(axis=0), out=db)
            db *= scale
        return [None, None]
