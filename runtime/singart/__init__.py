"""singart: runs a compiled SINGA placement plan: workers, params, the training loop, checkpoints."""
from __future__ import annotations

from singa_spec import SingaError

__all__ = ["SingaError"]
