"""Register a script's own kinds directly, for users who keep everything in one file: thin front doors
to the registries the compiler and the runtime read (no registry of their own), as functions
(`register_layer("Foo", Foo, shape=...)`) or decorators (`@layer("Foo", shape=...)`).

What a script registers lives in its own process only: `singa.run` sees it; a plan handed to `singart
run` (or `singa.launch`) runs in another process, which refuses the unknown name and says to move the
registration into a plugin file given with `--plugin`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from singa_spec import register_spec, shapes
from singa_spec.layers import LayerSpec
from singart.algorithms import register_algorithm
from singart.layers import register_layer as register_implementation
from singart.params.init import register_init
from singart.params.lr import register_schedule
from singart.params.updaters import register_updater

T = TypeVar("T")


def register_layer(name: str, cls: Any, spec: LayerSpec | None = None, **fields: Any) -> Any:
    """Make `cls` (a `singart.layers.NumpyLayer` or `Layer` subclass) the layer kind `name`
    (`user_type: "name"` in a job), with its spec: `spec`, or a LayerSpec of `fields` (shape, params,
    dims, connection, grad, ...; the output shape defaults to the input's)."""
    if spec is None:
        spec = LayerSpec(name, **{"shape": shapes.same, **fields})
    elif fields or spec.name != name:
        raise ValueError(f"layer {name}: give its spec (named {name}) or its fields, not both")
    register_spec(spec)
    register_implementation(name, cls)
    return cls


def layer(name: str, spec: LayerSpec | None = None, **fields: Any) -> Callable[[T], T]:
    """Class decorator: `register_layer(name, cls, spec, **fields)`."""
    def register(cls: T) -> T:
        return register_layer(name, cls, spec, **fields)  # type: ignore[no-any-return]
    return register


def updater(name: str, **options: Any) -> Callable[[T], T]:
    """Function decorator: `register_updater(name, rule, **options)` (slots, one_pass, fold)."""
    def register(rule: T) -> T:
        register_updater(name, rule, **options)  # type: ignore[arg-type]
        return rule
    return register


def init_method(name: str) -> Callable[[T], T]:
    """Function decorator: `register_init(name, method)`."""
    def register(method: T) -> T:
        return register_init(name, method)  # type: ignore[arg-type, return-value]
    return register


def schedule(name: str) -> Callable[[T], T]:
    """Function decorator: `register_schedule(name, rule)`."""
    def register(rule: T) -> T:
        return register_schedule(name, rule)  # type: ignore[arg-type, return-value]
    return register


def algorithm(name: str) -> Callable[[T], T]:
    """Class decorator: `register_algorithm(name, cls)` (an `singart.algorithms.Algorithm` subclass)."""
    def register(cls: T) -> T:
        return register_algorithm(name, cls)  # type: ignore[arg-type, return-value]
    return register


__all__ = ["algorithm", "init_method", "layer", "register_algorithm", "register_init", "register_layer",
           "register_schedule", "register_updater", "schedule", "updater"]
