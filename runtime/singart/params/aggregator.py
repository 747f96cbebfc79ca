"""The worker-side aggregator (SINGA's stub): sums the gradients of one process's workers of one group.

Each node of the process's workers that uses a param adds its gradient (of the whole param, or of its
block under feature partitioning); once every local share of a step is in, the sum goes to the servers
in one push that says how many shares it carries, so the servers count the group's shares across
processes without knowing how the group is spread.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

import numpy as np
from singa_proto import plan_pb2

from .. import SingaError
from .client import ParamClient
from .slicing import owners

Block = tuple[int, int, int]  # (axis, begin, end) of a param, as a plan's ParamRef.block


def local_shares(plan: plan_pb2.PlanProto, graph: plan_pb2.PhaseGraph, workers: Iterable[int]) -> Counter[str]:
    """Owner param -> how many uses of it the nodes of `workers` make in one step of `graph`."""
    owner, mine = owners(plan.params), set(workers)
    return Counter(owner[r.param] for n in graph.nodes if n.worker in mine for r in n.params)


class Aggregator:
    """Sums one process's gradients of one worker group, param by param, and pushes each sum once."""

    def __init__(self, wgroup: int, shares: Counter[str], shapes: dict[str, tuple[int, ...]],
                 owner: dict[str, str], client: ParamClient) -> None:
        self.wgroup, self.shares, self.owner, self.client = wgroup, shares, owner, client
        self.sums = {name: np.zeros(shapes[name], np.float32) for name in shares}
        self.count: Counter[str] = Counter()
        self.step: dict[str, int] = {}
        self.locks = {name: threading.Lock() for name in shares}

    @classmethod
    def from_plan(cls, plan: plan_pb2.PlanProto, graph: plan_pb2.PhaseGraph, wgroup: int,
                  workers: Iterable[int], client: ParamClient) -> Aggregator:
        """The aggregator of worker group `wgroup`'s `workers` in this process."""
        shapes = {e.name: tuple(int(d) for d in e.shape) for e in plan.params if not e.share_from}
        return cls(wgroup, local_shares(plan, graph, workers), shapes, owners(plan.params), client)

    def add(self, step: int, param: str, grad: np.ndarray, block: Block | None = None) -> bool:
        """Add one node's gradient of `param` (or of its `block`) at `step`; True when it completed the
        process's shares and the sum was pushed."""
        name = self.owner.get(param, param)
        if name not in self.shares:
            raise SingaError(f"param {param!r}: no node of this process's workers uses it")
        with self.locks[name]:
            self._accumulate(name, step, grad, block)
            if self.count[name] < self.shares[name]:
                return False
            # pushed under the lock: the sum buffer is reused by the next step's first share
            self.client.push(self.wgroup, step, name, self.sums[name], self.shares[name])
            self.count[name] = 0
            return True

    def _accumulate(self, name: str, step: int, grad: np.ndarray, block: Block | None) -> None:
        total, first = self.sums[name], self.count[name] == 0
        if not first and self.step[name] != step:
            raise SingaError(f"param {name!r}: a gradient of step {step} while step {self.step[name]} "
                             f"waits for {self.shares[name] - self.count[name]} more")
        target = total if block is None else total[(slice(None),) * block[0] + (slice(block[1], block[2]),)]
        if target.shape != grad.shape:
            raise SingaError(f"param {name!r}: a gradient of shape {grad.shape}, {target.shape} expected")
        if first and block is None:
            np.copyto(target, grad)
        else:
            if first:
                total.fill(0)  # blocks cover only part of the param: the rest of the sum is zero
            np.add(target, grad, out=target)
        self.step[name] = step
        self.count[name] += 1
