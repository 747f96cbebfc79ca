"""kCD: contrastive divergence for RBMs (SINGA v0.1's CDWorker), registered as a user's algorithm is.

A step: the executor's forward is the positive phase (every layer; the layers below the RBM only feed
it their values, loaded from an earlier job's checkpoint); then `cd_k` Gibbs steps of each RBM pair,
the first reporting the reconstruction's `Squared Error`; then the gradients of the RBM layers alone,
so only their params are updated. A test step is the positive phase and one reconstruction.
"""
from __future__ import annotations

from typing import NamedTuple

from singa_proto import job_pb2

from . import SingaError
from .algorithms import Algorithm, register_algorithm
from .executor import ComputeStep, Executor
from .layers.rbm import RBMHidLayer, RBMVisLayer


class Pair(NamedTuple):
    """An RBM's two nodes on one worker: their steps (which write the gradients) and layers."""

    vis_step: ComputeStep
    hid_step: ComputeStep
    vis: RBMVisLayer
    hid: RBMHidLayer


def rbm_pairs(ex: Executor) -> list[Pair]:
    """Each visible layer's step with its hidden partner's (the hidden layer among its srcs), in order."""
    steps = {node.name: st for node, st in ex.steps if isinstance(st, ComputeStep)}
    pairs = []
    for node, st in ex.steps:
        vis = st.layer if isinstance(st, ComputeStep) else None
        if not isinstance(vis, RBMVisLayer):
            continue
        hids = [steps[s] for s in node.srcs if s in steps and isinstance(steps[s].layer, RBMHidLayer)]
        if len(hids) != 1:
            raise SingaError(f"layer {node.origin or node.name}: a kRBMVis layer needs its kRBMHid partner "
                             "among its srclayers, on the same worker")
        hid = hids[0].layer
        assert isinstance(hid, RBMHidLayer) and isinstance(st, ComputeStep)
        vis.hid = hid
        pairs.append(Pair(st, hids[0], vis, hid))
    return pairs


class CD(Algorithm):
    """CD-k (`cd_conf.cd_k`, default 1)."""

    def __init__(self, conf: job_pb2.AlgProto) -> None:
        super().__init__(conf)
        self.k = max(1, int(conf.cd_conf.cd_k))
        self._pairs: dict[int, list[Pair]] = {}  # by executor: each worker pairs its own nodes once

    def pairs(self, ex: Executor) -> list[Pair]:
        if id(ex) not in self._pairs:
            self._pairs[id(ex)] = rbm_pairs(ex)
        return self._pairs[id(ex)]

    def train_one_batch(self, ex: Executor, step: int) -> None:
        outs = ex.forward(step)
        for pair in self.pairs(ex):
            gibbs(pair.vis, pair.hid, self.k, step)
        ex.check_finite(step, outs)  # a NaN reconstruction stops the run before it reaches the params
        for pair in self.pairs(ex):
            pair.hid_step.backward(None, step)
            pair.vis_step.backward(None, step)

    def test_one_batch(self, ex: Executor, step: int) -> None:
        ex.forward(step)
        for pair in self.pairs(ex):
            pair.vis.negative(pair.hid.sample(step, 0), record=True)


def gibbs(vis: RBMVisLayer, hid: RBMHidLayer, k: int, step: int) -> None:
    """k steps of the chain from the positive phase's hidden units; the first records its error."""
    for i in range(k):
        hid.negative(vis.negative(hid.sample(step, i), record=i == 0))


register_algorithm("kCD", CD)
