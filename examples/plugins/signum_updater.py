"""An updater plugin: `Signum`, sign descent with momentum. The history h keeps a moving average of the
gradients, h = m·h + (1 − m)·g with m the updater's `momentum`, and every element of the param moves by
exactly the learning rate against h's sign. Load it with `--plugin examples/plugins/signum_updater.py`.
"""
from __future__ import annotations

import numpy as np
from singart.params.updaters import register_updater


def signum(u, w, g, tmp, slots, lr, t):
    """One step, in place: `g` (already scaled, weight decay added) and `tmp` are scratch of w's shape,
    `slots` the param's history by slot name, `lr` this step's rate, `t` the param's update count."""
    m, h = u.conf.momentum, slots["history"]
    h *= m
    g *= 1 - m
    h += g
    np.sign(h, out=tmp)
    tmp *= lr
    w -= tmp


register_updater("Signum", signum, slots=("history",))  # each slot: an array like w, zero at start, checkpointed
