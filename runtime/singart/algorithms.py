"""TrainOneBatch algorithms (SINGA's Worker subclasses), a registry by name.

An algorithm runs one worker's share of a step over that worker's `Executor`: its own forward and
backward passes, as many and in the order it needs (BP: one of each; CD: positive and negative
phases; BPTT: over unrolled copies). `Executor.steps` holds the nodes in execution order for an
algorithm that walks them itself. Updates follow from backward (the store applies them when the
step ends), so an algorithm need not apply them. `kBP` is registered here exactly as a user's is.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
from singa_proto import job_pb2, plan_pb2
from singa_spec.kinds import declare

from .executor import ComputeStep, Executor
from .layers.recurrent import RecurrentStep
from .registry import Registry


class Algorithm:
    """One TrainOneBatch / TestOneBatch pair; made once per worker group from the job's AlgProto
    (`self.conf`, extensions included). Workers of a group call it from their own threads at once.
    `backward` says whether its train step runs a backward pass (the pictures draw gradients then)."""

    backward: ClassVar[bool] = True

    def __init__(self, conf: job_pb2.AlgProto) -> None:
        self.conf = conf

    def train_one_batch(self, ex: Executor, step: int) -> None:
        """One training step of one worker."""
        raise NotImplementedError

    def test_one_batch(self, ex: Executor, step: int) -> None:
        """One evaluation step (validation or test) of one worker: forward only."""
        ex.forward(step)


class BP(Algorithm):
    """Back-propagation: forward, a check that the loss is finite, backward."""

    def train_one_batch(self, ex: Executor, step: int) -> None:
        outs = ex.forward(step)
        ex.check_finite(step, outs)  # a NaN loss stops the run before it reaches the params
        ex.backward(step)


class BPTT(Algorithm):
    """Truncated back-propagation through time over the compiler's unrolled copies: BP over the
    window, then each unrolled layer's first copy keeps its last copy's state to start the next batch
    from (the state crosses batches, its gradient does not). Evaluation carries the state across an
    evaluation run's batches the same way, so that its loss is the one training sees on that text."""

    def train_one_batch(self, ex: Executor, step: int) -> None:
        outs = ex.forward(step)
        ex.check_finite(step, outs)
        ex.backward(step)
        _carry(ex, outs)

    def test_one_batch(self, ex: Executor, step: int) -> None:
        if step == 0:  # an evaluation run numbers its batches from 0 (train.evaluate); each starts from
            for _, layer in _copies(ex):  # zeros, not from a state the params of an earlier run made
                layer.h0 = None
        _carry(ex, ex.forward(step))


def _carry(ex: Executor, outs: dict[str, np.ndarray]) -> None:
    """Start each unrolled layer's next batch from this batch's last state."""
    last = {_chain(n): outs[n.name] for n, _ in _copies(ex) if n.conf.unroll_step == n.conf.unroll_len}
    for n, layer in _copies(ex):
        if n.conf.unroll_step == 1:
            layer.h0 = np.array(last[_chain(n)], dtype=np.float32)  # a copy: buffers are reused


def _copies(ex: Executor) -> list[tuple[plan_pb2.Node, RecurrentStep]]:
    """This worker's unrolled copies of recurrent layers, with their layers."""
    return [(n, st.layer) for n, st in ex.steps
            if isinstance(st, ComputeStep) and isinstance(st.layer, RecurrentStep)]


def _chain(n: plan_pb2.Node) -> tuple[str, int]:
    """Copies of one layer's one batch partition form one chain over time."""
    return n.origin, n.partition_id


ALGORITHMS: Registry[Callable[[job_pb2.AlgProto], Algorithm]] = Registry("algorithm")


def register_algorithm(name: str, cls: Callable[[job_pb2.AlgProto], Algorithm]) -> Callable[
        [job_pb2.AlgProto], Algorithm]:
    """Make `cls` (an Algorithm subclass) the algorithm `name`: `train_one_batch { user_alg: "name" }`
    in a job picks it."""
    ALGORITHMS.register(name, cls)
    declare("algorithm", name, backward=getattr(cls, "backward", True))
    return cls


def make_algorithm(conf: job_pb2.AlgProto) -> Algorithm:
    """The algorithm `conf` names; one nothing registers is a SingaError listing the registered ones."""
    _, cls, conf = ALGORITHMS.pick(conf)
    return cls(conf)


register_algorithm("kBP", BP)
register_algorithm("kBPTT", BPTT)
