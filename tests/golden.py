"""Golden files: a test compares what it got with a committed file. To accept a deliberate change,
run the tests once with SINGA_UPDATE_GOLDEN=1 (they then rewrite the files) and review the diff."""
from __future__ import annotations

import os
from pathlib import Path

UPDATE = os.environ.get("SINGA_UPDATE_GOLDEN", "") not in ("", "0")


def golden_text(path: Path, got: str) -> str:
    """The golden text at `path` to compare `got` with (rewritten first under SINGA_UPDATE_GOLDEN=1)."""
    if UPDATE:
        path.write_text(got)
    return path.read_text()
