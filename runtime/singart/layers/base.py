"""The layer interface every runtime layer implements, and the context a layer is built with."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from singa_proto import plan_pb2


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
    def rows(self) -> tuple[int, int]:
        """The rows [begin, end) of the origin layer's full batch that this node holds."""
        for r in self.node.block:
            if r.axis == 0:
                return r.begin, r.end
        return 0, int(self.node.origin_shape[0]) if self.node.origin_shape else int(self.node.shape[0])

    @property
    def full_batch(self) -> int:
        """The origin layer's unpartitioned batch size (loss layers divide by it)."""
        return int(self.node.origin_shape[0]) if self.node.origin_shape else int(self.node.shape[0])


class Layer:
    """A layer of one node. Subclasses set `param_roles` and implement forward/backward.

    forward(inputs, params, step) -> output. `inputs` are the source nodes' outputs in `node.srcs`
    order; `params` the values of `node.params`, in that order (possibly blocks of larger params).
    backward(dy, grads) -> one gradient per input (None where an input takes no gradient). It writes
    (overwrites) each param's gradient into `grads`, aligned with `params`. dy is None for loss layers.
    """

    param_roles: tuple[str, ...] = ()
    has_grad: bool = True

    def __init__(self, ctx: LayerContext) -> None:
        self.ctx = ctx

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> Any:
        raise NotImplementedError

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        raise NotImplementedError

    def metrics(self) -> dict[str, tuple[float, int]]:
        """Loss layers: {name: (sum, count)} accumulated since the last call; then reset."""
        return {}
