"""The base class of users' layers written in NumPy, and the thin adapter that runs them as any layer.

A user writes `forward(self, inputs) -> output` and `backward(self, grad_out) -> grad_in` and reads its
params as NumPy arrays by role (`self.params["scale"]`), writing their gradients into `self.grads[role]`
(zeroed before each backward, so `+=` and `[...] =` both do). Under feature partitioning these arrays
are the partition's blocks, as for the built-in layers. The adapter checks the output's shape against
the plan, so that a forward that disagrees with its spec's shape rule names the layer.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer, LayerContext


class NumpyLayer:
    """Subclass it, implement forward and backward, register it with `@implements("Name")`."""

    def __init__(self, ctx: LayerContext) -> None:
        self.ctx = ctx
        self.conf = ctx.conf  # the LayerProto: the plugin's extension is `conf.Extensions[...]`
        self.name = ctx.name
        self.train = ctx.train
        self.step = 0
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, inputs: list[np.ndarray]) -> np.ndarray:
        """The output for `inputs` (one array per source layer, in `srclayers` order)."""
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> list[np.ndarray | None] | np.ndarray:
        """The gradient of each input (an array alone for one input); fills `self.grads`."""
        raise NotImplementedError


class NumpyAdapter(Layer):
    """Runs a NumpyLayer subclass (`user`) under the executor's layer interface."""

    user: type[NumpyLayer]

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        self.impl = self.user(ctx)

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        self.impl.step, self.impl.params = step, dict(zip(self.roles, params))
        out = np.ascontiguousarray(self.impl.forward(list(inputs)), dtype=np.float32)
        want = tuple(int(d) for d in self.ctx.node.shape)
        if want and out.shape != want:
            raise ValueError(f"layer {self.ctx.name}: forward returned shape {list(out.shape)}, the plan "
                             f"expects {list(want)} (the spec's shape rule)")
        return out

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        for g in grads:
            g.fill(0)
        self.impl.grads = dict(zip(self.roles, grads))
        if dy is None:
            raise ValueError(f"layer {self.ctx.name}: a NumPy layer cannot be a loss layer (no gradient came)")
        dxs = self.impl.backward(dy)
        dxs = [dxs] if isinstance(dxs, np.ndarray) else list(dxs)
        return [None if dx is None else np.ascontiguousarray(dx, dtype=np.float32) for dx in dxs]


def adapter_for(cls: type[NumpyLayer]) -> type[Layer]:
    """The Layer class that runs `cls`."""
    return type(f"{cls.__name__}Adapter", (NumpyAdapter,), {"user": cls, "__doc__": cls.__doc__})
