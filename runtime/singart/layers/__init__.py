"""The layer registry: layer type name (as users write it) -> layer class."""
from __future__ import annotations

from .base import Layer, LayerContext
from .input import INPUT_LAYERS
from .neuron import NEURON_LAYERS

LAYERS: dict[str, type[Layer]] = {**INPUT_LAYERS, **NEURON_LAYERS}


def make_layer(type_name: str, ctx: LayerContext) -> Layer:
    """Build the layer for one plan node; an unknown type names the known ones."""
    if type_name not in LAYERS:
        raise ValueError(f"layer {ctx.node.name!r}: no runtime layer for type {type_name}; "
                         f"known: {', '.join(sorted(LAYERS))}")
    return LAYERS[type_name](ctx)


__all__ = ["LAYERS", "Layer", "LayerContext", "make_layer"]
