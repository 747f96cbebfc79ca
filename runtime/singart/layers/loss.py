"""Loss layers: inputs [prediction, labels or target]; backward(None, grads) -> [d prediction, None].

Gradients divide by `ctx.full_batch`, the unpartitioned batch, so the gradients of batch partitions
summed together equal the unpartitioned gradient. Metrics are {name: (sum over rows, rows)}.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .base import Layer, LayerContext
from .registry import implements


class LossLayer(Layer):
    """Accumulates per-row metric sums between calls of metrics()."""

    metric_names: tuple[str, ...] = ("loss",)

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        self._sums = dict.fromkeys(self.metric_names, 0.0)
        self._rows = 0

    def record(self, rows: int, **per_row: np.ndarray) -> None:
        for name, values in per_row.items():
            self._sums[name] += float(values.sum())
        self._rows += rows

    def pending(self) -> dict[str, tuple[float, int]]:
        """The metric sums since the last metrics() call, left in place (the run checks them after
        every forward)."""
        return {name: (total, self._rows) for name, total in self._sums.items()}

    def metrics(self) -> dict[str, tuple[float, int]]:
        out = {name: (total, self._rows) for name, total in self._sums.items()} if self._rows else {}
        self._sums = dict.fromkeys(self.metric_names, 0.0)
        self._rows = 0
        return out


@implements("kSoftmaxLoss")
class SoftmaxLossLayer(LossLayer):
    """kSoftmaxLoss: cross-entropy of softmax(prediction); gradient (p - onehot) * scale / full_batch;
    metrics `loss` and `accuracy` (top-k, softmaxloss_conf.topk), and `ppl` when the conf asks for it:
    it sums the same cross-entropy as `loss`, and the log shows exp of its mean (train.MEAN_TO_SHOWN)."""

    metric_names: tuple[str, ...] = ("loss", "accuracy")

    def __init__(self, ctx: LayerContext) -> None:
        conf = ctx.conf.softmaxloss_conf
        self.perplexity = bool(conf.perplexity)
        if self.perplexity:
            self.metric_names = (*self.metric_names, "ppl")
        super().__init__(ctx)
        self.topk, self.scale = int(conf.topk), float(conf.scale)
        if self.topk < 1:
            raise ValueError(f"softmaxloss_conf.topk must be positive, got {self.topk}")

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        x, labels = inputs[0], np.asarray(inputs[1]).reshape(-1).astype(np.int64)
        self.in_shape = x.shape
        x2 = x.reshape(x.shape[0], -1)
        if len(labels) != len(x2):
            raise ValueError(f"layer {self.ctx.node.origin}: {len(labels)} labels for {len(x2)} rows")
        bad = labels[(labels < 0) | (labels >= x2.shape[1])]
        if len(bad):
            raise ValueError(f"layer {self.ctx.node.origin}: label {bad[0]} is not one of the "
                             f"{x2.shape[1]} classes (0..{x2.shape[1] - 1})")
        self.labels, rows = labels, np.arange(len(labels))
        self.p = ops.softmax(x2, self.buf("p", x2.shape))
        picked = self.p[rows, labels]
        loss = -np.log(np.maximum(picked, np.finfo(np.float32).tiny))
        correct = (x2 > x2[rows, labels][:, None]).sum(axis=1) < self.topk
        self.record(len(labels), loss=loss, accuracy=correct, **({"ppl": loss} if self.perplexity else {}))
        return self.p

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        g = self.buf("g", self.p.shape)
        np.copyto(g, self.p)
        g[np.arange(len(self.labels)), self.labels] -= 1.0
        g *= np.float32(self.scale / self.ctx.full_batch)
        return [g.reshape(self.in_shape), None]


@implements("kEuclideanLoss")
class EuclideanLossLayer(LossLayer):
    """kEuclideanLoss: 0.5 * sum of (pred - target)^2 per row; gradient (pred - target) / full_batch."""

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        pred, target = inputs[0], np.asarray(inputs[1], np.float32)
        if pred.size != target.size:
            raise ValueError(f"layer {self.ctx.node.name}: prediction {pred.shape} and target {target.shape} "
                             "differ in size")
        self.diff = np.subtract(pred, target.reshape(pred.shape), out=self.buf("diff", pred.shape))
        sq = (self.diff * self.diff).reshape(len(pred), -1).sum(axis=1)
        self.record(len(pred), loss=sq)  # SINGA reports the summed squared error per row
        return pred

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        g = np.multiply(self.diff, np.float32(1.0 / self.ctx.full_batch), out=self.buf("g", self.diff.shape))
        return [g, None]

