"""Params of one worker group: one value array per owner param, blocks handed to nodes, summed gradients.

Values may be shared by several groups in one process (in-memory Hogwild); gradients, share counters and
buffers are per group. A param is updated as soon as every node of the group that uses it has added its
gradient (as a SINGA server does once it holds all shares), so updates overlap the other workers' work.

With the updater's `clip_norm` set, updates wait for the end of the step instead: the global L2 norm of
every summed gradient of the step decides one scale, min(1, clip_norm / (norm + 1e-6)), for all of them
(PyTorch's clip_grad_norm_); the updater then adds weight decay to the scaled gradient, as a PyTorch
optimizer does after clipping. Folded and row updates are off then, since both update before the norm
is known.
"""
from __future__ import annotations

import threading
from collections import Counter

import numpy as np
from singa_proto import plan_pb2

from . import SingaError, ops
from .params.init import init_param
from .params.slicing import owners
from .params.updaters import Updater, clip_factor


class Updates:
    """The job's updater with each param's lr_scale and wd_scale: how stores update params. Whole
    updates of one param are serialised, since several worker groups of a process update through one
    Updates as through one server (the updater keeps per-param history and scratch)."""

    def __init__(self, plan: plan_pb2.PlanProto, updater: Updater) -> None:
        self.updater = updater
        self.scales = {e.name: (e.conf.lr_scale, e.conf.wd_scale) for e in plan.params}
        self.locks = {e.name: threading.Lock() for e in plan.params}

    def whole(self, step: int, name: str, value: np.ndarray, grad: np.ndarray, scale: float = 1.0) -> None:
        """Apply one update of param `name` in place, from `grad` times `scale` (left untouched)."""
        lr_scale, wd_scale = self.scales.get(name, (1.0, 1.0))
        with self.locks[name]:
            self.updater.update(step, name, value, grad, lr_scale=lr_scale, wd_scale=wd_scale,
                                grad_scale=scale)

    def summed(self, step: int, name: str, grad: np.ndarray) -> None:
        """With clipping: the step's gradient of `name` is summed (it stays untouched until the step's
        `finish`); its update waits for `clipped`."""

    def clipped(self, step: int, params: list[tuple[str, np.ndarray, np.ndarray]], clip_norm: float) -> None:
        """Apply the step's updates of `params` (name, value, summed gradient), every gradient times the
        one scale that brings their global norm to at most `clip_norm`."""
        scale = clip_scale([grad for _, _, grad in params], clip_norm)
        for name, value, grad in params:
            self.whole(step, name, value, grad, scale)

    def finish(self, step: int) -> None:
        """Every update of `step` is issued: one applied elsewhere (by servers) is complete on return."""

    def fold(self, step: int, name: str) -> tuple[float, float] | None:
        """This step's update of `name` as value = beta value + alpha grad, when the rule allows it."""
        lr_scale, wd_scale = self.scales.get(name, (1.0, 1.0))
        return self.updater.fold(step, name, lr_scale=lr_scale, wd_scale=wd_scale)

    def rows(self, step: int, name: str, value: np.ndarray, grad: np.ndarray, rows: slice) -> None:
        """Apply this step's update to rows `rows` of `name` (threads may update disjoint rows at once)."""
        lr_scale, wd_scale = self.scales.get(name, (1.0, 1.0))
        self.updater.update_rows(step, name, value, grad, rows, lr_scale, wd_scale)


def init_values(plan: plan_pb2.PlanProto) -> dict[str, np.ndarray]:
    """Initialise every owner param for its whole shape, before any partitioning."""
    values = {}
    for e in plan.params:
        if e.share_from:
            continue
        shape = tuple(int(d) for d in e.shape)
        arr = init_param(e.conf.init, shape, plan.job.seed, e.name)
        values[e.name] = np.ascontiguousarray(arr, dtype=np.float32).reshape(shape)
    return values


def region(ref: plan_pb2.ParamRef) -> tuple[slice, ...] | None:
    """The index of `ref`'s block in its param (None: the whole param)."""
    if not ref.HasField("block"):
        return None
    b = ref.block
    return (slice(None),) * b.axis + (slice(b.begin, b.end),)


class ParamStore:
    """One group's view of the params: values (maybe shared), gradients, and when to update."""

    def __init__(self, plan: plan_pb2.PlanProto, values: dict[str, np.ndarray],
                 train_graph: plan_pb2.PhaseGraph | None, updates: Updates,
                 fold: bool = False, rows: bool = False) -> None:
        self.values = values
        self.updates = updates
        # shortcuts for a store whose values no other group updates: folded updates (when the rule
        # allows them) and row updates by several threads at once
        self._clip = float(plan.job.updater.clip_norm)
        self._fold, self._rows = fold and not self._clip, rows and not self._clip
        self._ready: list[str] = []  # with clipping: the params whose step's gradient is summed, in order
        self.versions = {name: 0 for name in values}
        self._owner = owners(plan.params)
        refs = [r for n in (train_graph.nodes if train_graph else ()) for r in n.params]
        self._uses = Counter(self.owner(r.param) for r in refs)
        self._partial = {self.owner(r.param) for r in refs if r.HasField("block")}
        self.grads = {name: np.zeros_like(values[name]) for name in self._uses}
        self._locks = {name: threading.Lock() for name in self._uses}
        self._count: Counter[str] = Counter()
        self._direct: set[int] = set()
        self._first: dict[str, np.ndarray] = {}  # a node's own gradient buffer, while it is the only one

    def sibling(self, plan: plan_pb2.PlanProto, train_graph: plan_pb2.PhaseGraph) -> ParamStore:
        """Another worker group's store over the same values and update (in-memory Hogwild)."""
        # shared values are updated under the update's lock only: never folded, never by rows
        self._fold = self._rows = False
        return ParamStore(plan, self.values, train_graph, self.updates)

    def owner(self, name: str) -> str:
        """The owner param of `name`; an unknown name is a plan error."""
        if name not in self._owner or self._owner[name] not in self.values:
            raise SingaError(f"plan names param {name!r}, which the plan's param table lacks")
        return self._owner[name]

    def block_buffer(self, ref: plan_pb2.ParamRef) -> np.ndarray | None:
        """A node's own buffer for a block that is not a contiguous view (None when a view will do)."""
        idx = region(ref)
        if idx is None or ref.block.axis == 0:
            return None
        return np.empty_like(self.values[self.owner(ref.param)][idx])

    def fetch(self, ref: plan_pb2.ParamRef, buf: np.ndarray | None) -> np.ndarray:
        """The current values of `ref`'s block: a view, or a refreshed contiguous copy in `buf`."""
        value, idx = self.values[self.owner(ref.param)], region(ref)
        if idx is None:
            return value
        if buf is None:
            return value[idx]
        np.copyto(buf, value[idx])
        return buf

    def grad_buffer(self, ref: plan_pb2.ParamRef) -> np.ndarray:
        """Where a node's backward writes the gradient of `ref`: the param's own gradient when the node
        is its only user, else a buffer of the node's that `add_grad` sums in."""
        name, idx = self.owner(ref.param), region(ref)
        if idx is None and self._uses[name] == 1:
            self._direct.add(id(self.grads[name]))
            return self.grads[name]
        return np.zeros_like(self.values[name] if idx is None else self.values[name][idx])

    def begin_step(self) -> None:
        """Reset the share counters; zero the gradients that are summed from blocks."""
        self._count.clear()
        self._first.clear()
        self._ready.clear()
        for name in self._partial:
            self.grads[name].fill(0)

    def fold(self, ref: plan_pb2.ParamRef, step: int) -> tuple[float, float] | None:
        """(alpha, beta) when the node calling it, as `ref`'s last user this step, may write the step's
        update straight into the value as value = beta value + alpha grad (no gradient buffer, no update
        pass); it then reports it with `folded`. Gradients the other users added are applied here first.
        None: write the gradient and `add_grad` it. Call it after the node's own use of the value."""
        name = self.owner(ref.param)
        if not self._fold or region(ref) is not None or name in self._partial:
            return None
        with self._locks[name]:
            if self._count[name] != self._uses[name] - 1:
                return None  # other users are still to come: this one adds its gradient
            coef = self.updates.fold(step, name)
            if coef is None or self._count[name] == 0:
                return coef
            alpha, beta = coef
            ops.axpby(alpha, self._summed(name), beta, self.values[name])
            return alpha, 1.0

    def shareable(self, ref: plan_pb2.ParamRef, users: int) -> bool:
        """Whether `ref` is a whole param with exactly `users` users (replicas may share its work)."""
        name = self.owner(ref.param)
        return region(ref) is None and name not in self._partial and self._uses[name] == users

    def fold_all(self, ref: plan_pb2.ParamRef, step: int) -> tuple[float, float] | None:
        """This step's (alpha, beta) for users that fold all their gradients together (one call a step)."""
        return self.updates.fold(step, self.owner(ref.param)) if self._fold else None

    def gradient_rows(self, ref: plan_pb2.ParamRef, rows: slice) -> np.ndarray:
        """Rows of `ref`'s gradient buffer, for users that write its whole gradient together."""
        return self.grads[self.owner(ref.param)][rows]

    def update_rows(self, ref: plan_pb2.ParamRef, step: int, rows: slice) -> bool:
        """Apply this step's update to rows `rows` from the gradient buffer (threads may update disjoint
        rows at once); False when this store updates whole params only (shared by several groups, whose
        updates are serialised): then call `update_whole` once instead."""
        name = self.owner(ref.param)
        if not self._rows:
            return False
        self.updates.rows(step, name, self.values[name], self.grads[name], rows)
        return True

    def update_whole(self, ref: plan_pb2.ParamRef, step: int) -> None:
        """Apply this step's update from the gradient buffer, its users having written it whole."""
        self._apply(self.owner(ref.param), step)

    def folded(self, ref: plan_pb2.ParamRef, step: int) -> None:
        """The node applied the fold `fold` gave it: the param is updated for this step."""
        name = self.owner(ref.param)
        with self._locks[name]:
            self._count[name] += 1
        self.versions[name] = step + 1

    def add_grad(self, ref: plan_pb2.ParamRef, grad: np.ndarray, step: int, users: int = 1) -> None:
        """Add the gradient of `ref` of one node (or the sum of `users` nodes' that shared a buffer); the
        last share of the step triggers the update."""
        name, idx = self.owner(ref.param), region(ref)
        with self._locks[name]:
            if id(grad) not in self._direct:
                self._accumulate(name, idx, grad)
            self._count[name] += users
            done = self._count[name] == self._uses[name]
        if done:
            self._apply(name, step)

    def _accumulate(self, name: str, idx: tuple[slice, ...] | None, grad: np.ndarray) -> None:
        # the first whole gradient is taken by reference (its node rewrites it only next step), so
        # a two-user sum costs one pass, not a copy and then an add
        if name in self._partial:
            target = self.grads[name][idx] if idx is not None else self.grads[name]
            np.add(target, grad, out=target)
        elif self._count[name] == 0:
            self._first[name] = grad
        else:
            np.add(self._summed(name), grad, out=self.grads[name])
            self._first.pop(name, None)

    def _summed(self, name: str) -> np.ndarray:
        """The sum of the gradients added so far this step."""
        return self._first.get(name, self.grads[name])

    def finish_step(self, step: int) -> None:
        """Update the params some (not all) of whose users produced a gradient this step."""
        for name, n in list(self._count.items()):
            if 0 < n < self._uses[name]:
                self._apply(name, step)
        if self._clip:
            self._apply_clipped(step)
        self.updates.finish(step)

    def _apply(self, name: str, step: int) -> None:
        if self._clip:  # the update waits for the step's norm (finish_step)
            self._ready.append(name)  # one list.append: atomic, whichever worker thread calls
            self.updates.summed(step, name, self._summed(name))
            return
        self.updates.whole(step, name, self.values[name], self._summed(name))
        self.versions[name] = step + 1

    def _apply_clipped(self, step: int) -> None:
        """Update every param summed this step, its gradient scaled by the step's one clipping scale."""
        names = sorted(self._ready)  # the norm's sum and the updates in one order, whichever thread came first
        summed = [(name, self.values[name], self._summed(name)) for name in names]
        self.updates.clipped(step, summed, self._clip)
        for name in names:
            self.versions[name] = step + 1


def clip_scale(grads: list[np.ndarray], clip_norm: float) -> float:
    """What multiplies every gradient so that their global L2 norm is at most `clip_norm`."""
    # one BLAS dot a gradient (float32, as PyTorch sums the norms): no temporary array the param's size
    return clip_factor(sum(float(np.dot(g.reshape(-1), g.reshape(-1))) for g in grads), clip_norm)


def build(plan: plan_pb2.PlanProto, train_graph: plan_pb2.PhaseGraph | None) -> tuple[ParamStore, Updater]:
    """Initial params, the job's updater, and group 0's store over them; a bad conf is a SingaError."""
    try:
        values = init_values(plan)
        updater = Updater(plan.job.updater)
    except ValueError as err:
        raise SingaError(str(err)) from None
    store = ParamStore(plan, values, train_graph, Updates(plan, updater), fold=updater.foldable(), rows=True)
    return store, updater
