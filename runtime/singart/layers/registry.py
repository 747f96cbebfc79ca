"""The runtime's layer registry: layer kind name (a spec's name) -> the class that runs it."""
from __future__ import annotations

from collections.abc import Callable

from singa_spec import SPECS

from .base import Layer, LayerContext

IMPLEMENTATIONS: dict[str, type[Layer]] = {}


def register_layer(kind: str, cls: type[Layer]) -> None:
    """Run layers of `kind` (a registered spec's name) with `cls`."""
    if kind not in SPECS:
        raise ValueError(f"layer implementation {cls.__name__}: {kind} has no spec; register it first")
    if IMPLEMENTATIONS.get(kind, cls) is not cls:
        raise ValueError(f"layer kind {kind} has two implementations: {IMPLEMENTATIONS[kind].__name__} "
                         f"and {cls.__name__}")
    IMPLEMENTATIONS[kind] = cls


def implements(*kinds: str) -> Callable[[type[Layer]], type[Layer]]:
    """Class decorator: register the class as the implementation of `kinds`."""
    def register(cls: type[Layer]) -> type[Layer]:
        for kind in kinds:
            register_layer(kind, cls)
        return cls
    return register


def make_layer(kind: str, ctx: LayerContext) -> Layer:
    """Build the layer for one plan node; a kind without an implementation names the known ones."""
    if kind not in IMPLEMENTATIONS:
        raise ValueError(f"layer {ctx.node.name!r}: this runtime cannot run {kind} layers; "
                         f"it runs {', '.join(sorted(IMPLEMENTATIONS))}")
    return IMPLEMENTATIONS[kind](ctx)

