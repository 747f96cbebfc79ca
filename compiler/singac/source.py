"""Where a job came from: its path and text, so that errors can name the line of a layer."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import SingaError, at
from .parse import layer_line, line_of


@dataclass(frozen=True)
class Source:
    """A job file's path and text."""

    path: str
    text: str = ""

    def layer_error(self, layer: str, what: str) -> SingaError:
        """An error naming the file, the line where `layer` is declared, and the layer."""
        return at(self.path, layer_line(self.text, layer), f"layer '{layer}': {what}")

    def field_error(self, field: str, what: str) -> SingaError:
        """An error naming the file and the line where `field` is first set (if it is)."""
        return at(self.path, line_of(self.text, rf"^[^#\n]*\b{field}\s*:"), what)

    def error(self, what: str) -> SingaError:
        """An error naming only the file."""
        return at(self.path, None, what)
