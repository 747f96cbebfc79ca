"""singart: runs a compiled SINGA placement plan: workers, params, the training loop, checkpoints."""
from __future__ import annotations


class SingaError(Exception):
    """A user-facing runtime error. `str(err)` is one line; the CLI prints it and exits with code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


__all__ = ["SingaError"]
