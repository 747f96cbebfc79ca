"""A plugin registering one of each pluggable kind besides layers, for the tests: an updater, an init
method and a learning-rate schedule (the last two configured by their own extension messages, in
user_kinds.proto) and two TrainOneBatch algorithms: back-propagation that records its calls (in
`RecordedBP.calls`, and in the file that $RECORDED_BP_LOG names, for a run in other processes) and a
forward-only one that declares it runs no backward pass."""
from __future__ import annotations

import os
import threading
from typing import ClassVar

import numpy as np
from singart.algorithms import BP, register_algorithm
from singart.executor import Executor
from singart.params.init import register_init
from singart.params.lr import register_schedule
from singart.params.updaters import register_updater

try:
    from . import user_kinds_pb2
except ImportError:  # given as a file (`--plugin tests/plugins/kinds_plugin.py`): its folder is on sys.path
    import user_kinds_pb2  # type: ignore[no-redef]


def sign_sgd(u, w, g, tmp, slots, lr, t):  # type: ignore[no-untyped-def]
    """w -= lr * sign(g): every element moves by exactly lr, whatever the gradient's size."""
    np.sign(g, out=g)
    g *= lr
    w -= g


def ramp(gen, shape, rng):  # type: ignore[no-untyped-def]
    """start, start + step, start + 2 step, ... over the param in row-major order."""
    conf = gen.Extensions[user_kinds_pb2.ramp_conf]
    n = int(np.prod(shape))
    return (conf.start + conf.step * np.arange(n, dtype=np.float64)).astype(np.float32).reshape(shape)


def halving(conf, step):  # type: ignore[no-untyped-def]
    """base_lr halved every `every` steps."""
    return conf.base_lr / 2 ** (step // conf.Extensions[user_kinds_pb2.halving_conf].every)


class RecordedBP(BP):
    """Back-propagation that records the (worker, step) of every call it runs."""

    calls: ClassVar[list[tuple[str, int, int]]] = []
    tags: ClassVar[list[str]] = []  # each instance's tag, from its own extension of AlgProto
    lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, conf):  # type: ignore[no-untyped-def]
        super().__init__(conf)
        self.tags.append(conf.Extensions[user_kinds_pb2.recording_conf].tag)

    def train_one_batch(self, ex: Executor, step: int) -> None:
        self.record("train", ex.worker, step)
        super().train_one_batch(ex, step)

    def test_one_batch(self, ex: Executor, step: int) -> None:
        self.record("test", ex.worker, step)
        super().test_one_batch(ex, step)

    def record(self, phase: str, worker: int, step: int) -> None:
        with self.lock:
            self.calls.append((phase, worker, step))
            log = os.environ.get("RECORDED_BP_LOG")
            if log:
                with open(log, "a") as f:  # one short append per call: lines of processes do not mix
                    f.write(f"{phase} {worker} {step}\n")


class ForwardOnly(BP):
    """Evaluates the net and learns nothing: its train step runs no backward pass."""

    backward = False

    def train_one_batch(self, ex: Executor, step: int) -> None:
        ex.forward(step)


register_updater("SignSGD", sign_sgd)
register_init("Ramp", ramp)
register_schedule("Halving", halving)
register_algorithm("RecordedBP", RecordedBP)
register_algorithm("ForwardOnly", ForwardOnly)
