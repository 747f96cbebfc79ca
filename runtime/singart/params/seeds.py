"""Random streams named by the job seed and a few strings, the same in every process."""
from __future__ import annotations

import hashlib

import numpy as np


def stable_hash(name: str) -> int:
    """A 64-bit hash of a name that is the same in every process (Python's hash() is salted)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def make_rng(seed: int, *parts: str | int) -> np.random.Generator:
    """A generator for (seed, parts...): strings are hashed stably, ints used as they are."""
    words = [int(seed)] + [stable_hash(p) if isinstance(p, str) else int(p) for p in parts]
    return np.random.default_rng(words)
