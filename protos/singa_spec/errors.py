"""The one error type both packages raise for what a user can fix: a single line naming what is wrong."""
from __future__ import annotations


class SingaError(Exception):
    """A user-facing error. `str(err)` is one line; the CLIs print it and exit with code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
