"""The layer interface every runtime layer implements, and the context a layer is built with."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from singa_proto import plan_pb2

from .. import layout


@dataclass(frozen=True)
class LayerContext:
    """What a layer knows when it is built: its plan node, its inputs' shapes, the job seed, its phase."""

    node: plan_pb2.Node
    in_shapes: tuple[tuple[int, ...], ...]
    seed: int
    train: bool

    @property
    def conf(self) -> Any:
        return self.node.conf

    @property
    def name(self) -> str:
        """The user's name of the layer (a partition's node is named `<layer>@NN`)."""
        return self.node.origin or self.node.name

    def rows(self, full: int) -> tuple[int, int]:
        """The rows [begin, end) of the origin layer's batch this node holds (all `full` when whole)."""
        for r in self.node.block:
            if r.axis == 0:
                return int(r.begin), int(r.end)
        return 0, full

    @property
    def full_batch(self) -> int:
        """The origin layer's unpartitioned batch size (loss layers divide by it)."""
        return int(self.node.origin_shape[0]) if self.node.origin_shape else int(self.node.shape[0])


@dataclass(frozen=True)
class PartGrad:
    """The gradient of an input that is zero outside `index`. A layer that reads only a block of an input
    (an unrolled copy: its time step) returns this, so the executor adds the block into one sum instead
    of adding whole tensors that are mostly zeros (T copies of a layer would cost O(T^2) a step)."""

    shape: tuple[int, ...]
    index: tuple[Any, ...]
    value: np.ndarray


class Layer:
    """A layer of one plan node; each kind implements forward and backward.

    forward(inputs, params, step) -> output. `inputs` are the source nodes' outputs in `node.srcs`
    order; `params` the values of `node.params`, in that order (possibly blocks of larger params).
    backward(dy, grads) -> one gradient per input (None where an input takes no gradient, a PartGrad
    where it is zero but for a block). It writes
    (overwrites) each param's gradient into `grads`, aligned with `params`. dy is None for loss layers.
    Whether a kind passes gradients at all is its spec's `grad` (input layers' backward never runs).
    Buffers are kept across steps (fresh pages are slow); a layer only ever uses the arrays it gets, so
    it runs unchanged on a feature partition's param blocks. Its inputs and dy are C-contiguous, unless
    the class sets `channels_last`: then 4-D ones may also be channels-last (layout.py), each as it comes.
    """

    channels_last = False  # takes channels-last inputs and gradients as they are (else gets them NCHW)
    # backward adds each param's gradient into `grads` instead of writing it: the executor then gives the
    # layer's copies in one worker (an unrolled layer's) one buffer a param, zeroed before the first adds
    adds_grads = False

    def __init__(self, ctx: LayerContext) -> None:
        self.ctx = ctx
        self.roles = [p.role for p in ctx.node.params]
        # per input, whether backward must return its gradient: the executor clears the flags of inputs
        # no param lies behind (e.g. the data), so their gradients are never computed
        self.needs_dx: list[bool] = [True] * len(ctx.node.srcs)
        self._bufs: dict[str, np.ndarray] = {}

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> Any:
        raise NotImplementedError

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        raise NotImplementedError

    def metrics(self) -> dict[str, tuple[float, int]]:
        """Loss layers: {name: (sum, count)} accumulated since the last call; then reset."""
        return {}

    def buf(self, key: str, shape: tuple[int, ...], dtype: Any = np.float32,
            channels_last: bool = False) -> np.ndarray:
        """A buffer kept across steps (NCHW, or channels-last: layout.py); made anew only when its
        shape or layout changes."""
        b = self._bufs.get(key)
        if b is None or b.shape != tuple(shape) or b.dtype != dtype or not layout.in_layout(b, channels_last):
            b = self._bufs[key] = layout.empty(tuple(shape), channels_last, dtype)
        return b

    def wants_dx(self, i: int) -> bool:
        """Whether backward must compute the gradient of input `i`."""
        return i >= len(self.needs_dx) or self.needs_dx[i]

    def param(self, values: list[np.ndarray], role: str) -> np.ndarray | None:
        """The value (or gradient buffer) of the param with `role`, None when the layer has none."""
        return values[self.roles.index(role)] if role in self.roles and values else None

    def weight(self, values: list[np.ndarray]) -> np.ndarray:
        """The weight (or its gradient buffer), which the layers that have params always have."""
        w = self.param(values, "weight")
        if w is None:
            raise ValueError(f"layer {self.ctx.name}: no weight param")
        return w
