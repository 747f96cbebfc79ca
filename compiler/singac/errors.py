"""Located errors: a single line naming the file and line of a job (the error type is shared)."""
from __future__ import annotations

from singa_spec import SingaError


def at(source: str, line: int | None, what: str) -> SingaError:
    """An error located in a job file: 'FILE:LINE: what' (or 'FILE: what' when no line is known)."""
    where = f"{source}:{line}" if line else source
    return SingaError(f"{where}: {what}")


__all__ = ["SingaError", "at"]
