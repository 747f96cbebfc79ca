"""What the learning-rate schedules (LRGenProto change methods) need of their conf: the compiler refuses a
job without it, and the runtime a plan without it."""
from __future__ import annotations

# The schedules that divide by a field of their conf: method -> (conf, field); it must be positive.
LR_DIVISORS = {
    "kInverseT": ("inverset_conf", "final_lr"),
    "kExponential": ("exponential_conf", "change_freq"),
    "kLinear": ("linear_conf", "change_freq"),
    "kStep": ("step_conf", "change_freq"),
}
