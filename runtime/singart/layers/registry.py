"""The runtime's layer registry: layer kind name (a spec's name) -> the class that runs it."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from singa_spec import SPECS
from singa_spec.kinds import same_definition

from .base import Layer, LayerContext
from .numpy_layer import NumpyLayer, adapter_for

IMPLEMENTATIONS: dict[str, type[Layer]] = {}
Impl = TypeVar("Impl", type[Layer], type[NumpyLayer])


def register_layer(kind: str, cls: type[Layer | NumpyLayer]) -> None:
    """Run layers of `kind` (a registered spec's name) with `cls` (a Layer, or a NumpyLayer that an
    adapter runs)."""
    if kind not in SPECS:
        raise ValueError(f"layer implementation {cls.__name__}: {kind} has no spec; register it first")
    known = IMPLEMENTATIONS.get(kind)
    user = getattr(known, "user", known)  # the class a NumpyLayer's adapter runs, else the class itself
    if user is not None and not same_definition(user, cls):
        raise ValueError(f"layer kind {kind} has two implementations: {user.__name__} and {cls.__name__}")
    if user is not cls:  # new, or its definition run again
        IMPLEMENTATIONS[kind] = adapter_for(cls) if issubclass(cls, NumpyLayer) else cls


def implements(*kinds: str) -> Callable[[Impl], Impl]:
    """Class decorator: register the class as the implementation of `kinds`."""
    def register(cls: Impl) -> Impl:
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

