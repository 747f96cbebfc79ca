"""The runtime's layers: one implementation per layer kind, under the name of the kind's spec.

Built-in kinds register with `@implements(...)` exactly as a plugin's layer would; the kind's spec
(singa_spec) says what the compiler and the executor need to know of it.
"""
from __future__ import annotations

from . import input, loss, neuron, rbm, recurrent  # noqa: F401 -- the built-in kinds register themselves
from .base import Layer, LayerContext
from .numpy_layer import NumpyLayer
from .registry import IMPLEMENTATIONS, implements, make_layer, register_layer

__all__ = ["IMPLEMENTATIONS", "Layer", "LayerContext", "NumpyLayer", "implements", "make_layer", "register_layer"]
