"""The one error type the compiler raises: a single line naming the file, line, layer or field."""
from __future__ import annotations


class SingaError(Exception):
    """A user-facing error. `str(err)` is one line; the CLI prints it and exits with code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


def at(source: str, line: int | None, what: str) -> SingaError:
    """An error located in a job file: 'FILE:LINE: what' (or 'FILE: what' when no line is known)."""
    where = f"{source}:{line}" if line else source
    return SingaError(f"{where}: {what}")
