"""Learning-rate schedules: the seven LRGenProto change methods of SINGA v0.1 (reference 1.5), and users'
own: a registry by name (`register_schedule`), the built-ins registered there as a plugin's are."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeAlias

from singa_proto import job_pb2
from singa_spec.schedules import LR_DIVISORS

from ..registry import Registry

LRConf: TypeAlias = job_pb2.LRGenProto
Schedule: TypeAlias = Callable[[LRConf, int], float]


def _fixed_step(c: LRConf, step: int) -> float:
    steps, lrs = list(c.fixedstep_conf.step), list(c.fixedstep_conf.step_lr)
    # SINGA starts at step_lr[0] and moves to step_lr[i] once step >= step[i]
    current = lrs[0]
    for boundary, lr in zip(steps, lrs):
        if step >= boundary:
            current = lr
    return current


CHANGE_METHODS: Registry[Schedule] = Registry("schedule")


def register_schedule(name: str, rule: Schedule) -> Schedule:
    """Make `rule(conf, step) -> lr` the schedule `name`: `learning_rate { user_type: "name" }` in a job
    picks it; `conf` is the LRGenProto, extensions included."""
    return CHANGE_METHODS.register(name, rule)


register_schedule("kFixed", lambda c, step: c.base_lr)
register_schedule("kInverseT", lambda c, step: c.base_lr / (1 + step / c.inverset_conf.final_lr))
register_schedule("kInverse", lambda c, step: c.base_lr * (1 + c.inverse_conf.gamma * step)
                  ** (-c.inverse_conf.pow))
register_schedule("kExponential", lambda c, step: c.base_lr / 2 ** (step / c.exponential_conf.change_freq))
register_schedule("kLinear", lambda c, step: ((1 - step / c.linear_conf.change_freq) * c.base_lr
                                              + step / c.linear_conf.change_freq * c.linear_conf.final_lr))
register_schedule("kStep", lambda c, step: (c.base_lr
                                            * c.step_conf.gamma ** math.floor(step / c.step_conf.change_freq)))
register_schedule("kFixedStep", _fixed_step)

# the field that must be non-zero (a divisor) or non-empty for each method
REQUIRED = {**LR_DIVISORS, "kFixedStep": ("fixedstep_conf", "step_lr")}


def check_lr_conf(conf: LRConf) -> tuple[str, Schedule, LRConf]:
    """The change method's name, rule and the conf to give it (Registry.pick), after checking the conf;
    a bad conf is a one-line ValueError, an unknown method a SingaError."""
    method, rule, conf = CHANGE_METHODS.pick(conf)
    if method in REQUIRED:
        sub, field = REQUIRED[method]
        if not getattr(getattr(conf, sub), field):
            raise ValueError(f"updater learning_rate: {method} needs a non-zero {sub}.{field}")
    if method == "kFixedStep" and len(conf.fixedstep_conf.step) != len(conf.fixedstep_conf.step_lr):
        raise ValueError("updater learning_rate: fixedstep_conf needs as many step as step_lr")
    return method, rule, conf


def learning_rate(conf: LRConf, step: int) -> float:
    """The learning rate at `step` under the schedule `conf`."""
    _, rule, conf = check_lr_conf(conf)
    return float(rule(conf, step))


def lr_schedule(conf: LRConf) -> Callable[[int], float]:
    """A step -> learning rate function; the conf is checked once, here."""
    _, rule, conf = check_lr_conf(conf)
    return lambda step: float(rule(conf, step))
