"""The small image shard most run tests train on: 32 random 6x6 uint8 images of 4 classes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from singart.data.convert import write_image_shard


def image_shard(folder: Path, seed: int = 4) -> Path:
    """Write the shard to `folder` (unless it is there already, from an earlier call); `folder`."""
    if not folder.exists():
        rng = np.random.default_rng(seed)
        write_image_shard(str(folder), rng.integers(0, 256, (32, 6, 6), dtype=np.uint8),
                          rng.integers(0, 4, 32), interval=1e9)
    return folder
