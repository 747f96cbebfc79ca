"""Sequence layers: kTokens, kEmbedding, the unrolled copies of kRNN / kGRU / kLSTM, and kStack.

The compiler unrolls a recurrent layer into one copy per time step (passes/unroll.py): a copy runs the
fused C++ cell (rnn_ops.py; reference_cells.py is its NumPy reference) on its step of the input and the
previous copy's state, with the params all copies share; the first copy starts from `h0`, zeros unless an algorithm sets it (kBPTT carries the previous
batch's last state, without its gradient). A copy's input gradient is a PartGrad of its step alone,
which the executor adds into one sum. A state is h, or h and c side by side for an LSTM. kStack
joins the copies' h into the layer's rows (batch * time, dim), batch-major.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from singa_spec import layer_type

from .. import rnn_ops
from .base import Layer, LayerContext, PartGrad
from .input import InputLayer, _batch
from .registry import implements


def _given(dy: np.ndarray | None) -> np.ndarray:
    if dy is None:
        raise ValueError("a sequence layer's backward needs the gradient of its output")
    return dy


@implements("kTokens")
class TokensLayer(InputLayer):
    """kTokens: windows of time + 1 ids -> the first `time` ids (batch, time), or with tokens_conf.next
    the id after each step as labels (batch * time), batch-major."""

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        images = _batch(inputs, self.ctx).images
        ids = images.reshape(images.shape[0], -1).astype(np.int32)
        if self.ctx.conf.tokens_conf.next:
            return np.ascontiguousarray(ids[:, 1:].reshape(-1))
        return np.ascontiguousarray(ids[:, :-1])


@implements("kEmbedding")
class EmbeddingLayer(Layer):
    """kEmbedding: int ids (any shape) -> their rows of weight (vocab_size, word_dim)."""

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        w = self.weight(params)
        self.ids = np.asarray(inputs[0]).astype(np.int64)
        if self.ids.size and (self.ids.min() < 0 or self.ids.max() >= w.shape[0]):
            raise ValueError(f"layer {self.ctx.name}: ids must lie in 0..{w.shape[0] - 1} "
                             f"(embedding_conf.vocab_size), got {self.ids.min()}..{self.ids.max()}")
        return np.take(w, self.ids, axis=0, out=self.buf("y", (*self.ids.shape, w.shape[1])))

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dw = self.weight(grads)
        dw.fill(0)
        np.add.at(dw, self.ids.reshape(-1), _given(dy).reshape(-1, dw.shape[1]))
        return [None]  # ids take no gradient


# kind -> the fused C++ cell's forward and backward (rnn_ops; reference_cells.py is their NumPy reference),
# with PyTorch's two biases: the input side's (b_ih, role "bias") and the recurrent side's (b_hh,
# "bias_h"); either may be absent (None).
CELLS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "kRNN": (rnn_ops.rnn_forward, rnn_ops.rnn_backward),
    "kGRU": (rnn_ops.gru_forward, rnn_ops.gru_backward),
    "kLSTM": (rnn_ops.lstm_forward, rnn_ops.lstm_backward),
}
ROLES = ("weight_x", "weight_h", "bias", "bias_h")


@implements("kRNN", "kGRU", "kLSTM")
class RecurrentStep(Layer):
    """One unrolled copy: inputs (the layer's input (batch, time, features), the previous copy's state).
    Its backward adds into the weights' gradients (the kernels do), so the copies in a worker share one
    gradient buffer a param (executor.SharedGrads)."""

    adds_grads = True

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        if ctx.conf.unroll_step < 1:
            raise ValueError(f"layer {ctx.name}: a recurrent layer runs only unrolled (compile the job "
                             "with this version of singac)")
        self.kind = layer_type(ctx.conf)
        self.t, self.hidden = int(ctx.conf.unroll_step) - 1, int(ctx.conf.rnn_conf.dim)
        self.h0: np.ndarray | None = None  # the first copy's initial state; None: zeros

    def _split(self, state: np.ndarray) -> list[np.ndarray]:
        """The state's parts as the kernels take them: h, and c for an LSTM (contiguous float32)."""
        parts = [state[:, :self.hidden], state[:, self.hidden:]] if self.kind == "kLSTM" else [state]
        return [np.ascontiguousarray(part, dtype=np.float32) for part in parts]

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        x = np.asarray(inputs[0])
        self.in_shape = x.shape
        state = inputs[1] if len(inputs) > 1 else self.initial(x.shape[0])
        W, U, b, bh = (self.param(params, r) for r in ROLES)
        x_t = np.ascontiguousarray(x[:, self.t], dtype=np.float32)
        out = CELLS[self.kind][0](x_t, *self._split(state), W, U, b, bh, getattr(self, "cache", None))
        self.cache = out[-1]  # reused next step: its arrays are this copy's for good
        return np.concatenate(out[:-1], axis=1, dtype=np.float32)

    def initial(self, batch: int) -> np.ndarray:
        """The state before the first step: h0 when it fits this batch, else zeros."""
        width = self.hidden * (2 if self.kind == "kLSTM" else 1)
        if self.h0 is not None and self.h0.shape == (batch, width):
            return self.h0
        return np.zeros((batch, width), np.float32)

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[Any]:
        targets = [self.param(grads, role) for role in ROLES]  # the kernels add into them
        out = CELLS[self.kind][1](*self._split(_given(dy)), self.cache, *targets, self.wants_dx(0))
        # nonzero only at this copy's step
        dx = PartGrad(self.in_shape, (slice(None), self.t), out[0]) if out[0] is not None else None
        dstate = np.concatenate(out[1:], axis=1, dtype=np.float32) if len(self.ctx.node.srcs) > 1 else None
        return [dx, dstate]


@implements("kStack")
class StackLayer(Layer):
    """kStack: the copies' states (batch, state) -> their h as rows (batch * time, dim), batch-major."""

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        h = int(self.ctx.conf.rnn_conf.dim)
        self.width = inputs[0].shape[1]
        return np.stack([s[:, :h] for s in inputs], axis=1).reshape(-1, h)

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        dy = _given(dy)
        h, time = dy.shape[1], len(self.ctx.node.srcs)
        per_step = dy.reshape(-1, time, h)
        if self.width == h:  # the state is h alone: each copy's gradient is its rows' columns of dy
            return [per_step[:, t] for t in range(time)]
        out: list[np.ndarray | None] = []
        for t in range(time):  # an LSTM's state is h and c side by side: no gradient reaches c from here
            g = self.buf(f"d{t}", (per_step.shape[0], self.width))
            g[:, :h] = per_step[:, t]
            g[:, h:] = 0
            out.append(g)
        return out
