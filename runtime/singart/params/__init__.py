"""Param initialisation, learning-rate schedules and updaters."""
from __future__ import annotations

from .init import init_param
from .lr import learning_rate
from .seeds import make_rng, stable_hash
from .updaters import Updater, make_updater

__all__ = ["Updater", "init_param", "learning_rate", "make_rng", "make_updater", "stable_hash"]
