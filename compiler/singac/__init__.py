"""singac: compiles a SINGA job description into a partitioned placement plan."""
from __future__ import annotations

from .errors import SingaError

__all__ = ["SingaError"]
