"""singa_spec: what the compiler and the runtime share besides the generated protobuf modules.

The layer kinds' declarative specs (`layers`), the names of the plan's enums (`names`), plan files
(`plans`), crash-safe file writes (`files`) and the one user-facing error type. Neither `singac` nor
`singart` is imported here: either may ship alone with this package and `singa_proto`.
"""
from __future__ import annotations

from .errors import SingaError
from .layers import SPECS, LayerSpec, layer_type, register_spec, spec_of

__all__ = ["SPECS", "LayerSpec", "SingaError", "layer_type", "register_spec", "spec_of"]
