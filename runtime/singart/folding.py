"""The training step's two shortcuts for layers whose weight gradient is one GEMM (inner products),
and the one protocol (FoldingLayer) a layer implements to take part; nothing else in the runtime
knows of them.

Fold: with an update rule that is linear in the weight and its gradient (plain SGD), this step's update
is w = beta w + alpha dw, and the dw GEMM can write it straight into w: no gradient buffer, no update
pass. A layer is offered the fold once it no longer needs the old weight (after its dx); the store
decides whether the offer stands (the param's last user this step takes it).

Replica sharing: replicas of one layer in the workers of a group (batch partitioning) compute their
products together. Replica i owns block i of the output features (rows of w) and computes, over the
whole batch, those columns of every replica's y, its rows' share of every dx, and its rows of dw
(folded into w, or followed by its rows' update), so every row of w is streamed once per product and
nothing is summed.
"""
from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

import numpy as np
from singa_proto import plan_pb2

from . import ops
from .connection import Aborted
from .store import ParamStore


@runtime_checkable
class FoldingLayer(Protocol):
    """What a layer offers to the shortcuts (the inner product implements it).

    Its weight gradient is one GEMM, dw = dy^T x (x^T dy when `transpose`). During a training step
    `fold` holds the step's FoldOffer: after computing its dx the layer asks `fold.coefficients()`,
    and on (alpha, beta) it writes w = beta w + alpha dw with that GEMM instead of the gradient. When
    every worker of its group holds a replica of the layer, `replica` is set, and the layer computes
    its products through `replica.forward` and `replica.backward` instead of alone.
    """

    roles: list[str]
    transpose: bool
    fold: FoldOffer | None
    replica: Replica | None


class ReplicaShare:
    """The replicas of one inner product's weight across a group's workers (batch partitioning), which
    compute its products together: replica i owns block i of the output features (rows of w) and, over
    the whole batch, computes those output columns, its part of every dx, and the fold of its rows of
    dw. Each replica reads and writes only its rows of w, so no one waits for an old weight, every
    weight row is streamed from memory once per product, and the GEMMs see the whole batch."""

    def __init__(self, store: ParamStore, ref: plan_pb2.ParamRef, n: int) -> None:
        self.store, self.ref, self.n = store, ref, n
        empty = np.empty((0, 0), np.float32)
        self.xs, self.ys, self.dys, self.parts = ([empty] * n for _ in range(4))
        self.coef: tuple[float, float] | None = None
        self.step = 0
        self.barrier = threading.Barrier(n)
        self.decide = threading.Barrier(n, action=self._decide)
        self._bufs: list[dict[str, np.ndarray]] = [{} for _ in range(n)]

    def _decide(self) -> None:  # run by one thread once every replica has posted its dy
        self.coef = self.store.fold_all(self.ref, self.step)

    def _wait(self, barrier: threading.Barrier) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            raise Aborted("another worker of the group failed") from None

    def block(self, i: int, m: int) -> slice:
        """Replica i's output features (rows of w) of m."""
        return slice(i * m // self.n, (i + 1) * m // self.n)

    def batch_rows(self, i: int) -> slice:
        """Replica i's rows in the whole batch."""
        begin = sum(x.shape[0] for x in self.xs[:i])
        return slice(begin, begin + self.xs[i].shape[0])

    def forward(self, i: int, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, y: np.ndarray) -> np.ndarray:
        """y = x w^T + b for replica i's rows, its columns computed by each replica."""
        self.xs[i], self.ys[i] = x, y
        self._wait(self.barrier)
        cols = self.block(i, w.shape[0])
        x_all = self._stack(i, "x", self.xs)  # kept for backward: the inputs do not change till then
        out = self._buf(i, "y", (x_all.shape[0], cols.stop - cols.start))
        ops.inner_product(x_all, w[cols], None if b is None else b[cols], out)
        for j, yj in enumerate(self.ys):
            yj[:, cols] = out[self.batch_rows(j)]
        self._wait(self.barrier)  # every replica's y is whole
        return y

    def backward(self, i: int, dy: np.ndarray, w: np.ndarray, dx: np.ndarray | None, step: int) -> bool:
        """Replica i's dx (when given) and its rows of this step's weight update: folded into w, or
        from its rows of the gradient (the updater's row update, else one replica updates it whole)."""
        self.dys[i], self.step = dy, step
        self._wait(self.decide)
        rows = self.block(i, w.shape[0])
        dyc = self._stack(i, "dy", [d[:, rows] for d in self.dys])  # the whole batch's dy of my rows
        if dx is not None:  # my rows' share of every replica's dx, while they still hold the old w
            self.parts[i] = ops.gemm(dyc, w[rows], self._buf(i, "part", (dyc.shape[0], w.shape[1])))
        if self.coef is not None:  # the update folded into my rows of w
            ops.gemm(dyc, self._bufs[i]["x"], w[rows], trans_a=True, alpha=self.coef[0], beta=self.coef[1])
        else:  # my rows of the gradient, then (everyone's dx parts done) my rows' update
            ops.gemm(dyc, self._bufs[i]["x"], self.store.gradient_rows(self.ref, rows), trans_a=True)
        if dx is not None or self.coef is None:
            self._wait(self.barrier)  # every part and every gradient row is done
        if self.coef is None and not self.store.update_rows(self.ref, step, rows) and i == 0:
            self.store.update_whole(self.ref, step)
        if dx is not None:  # my rows of the sum of the parts (there are n >= 2), the first two in one pass
            mine = self.batch_rows(i)
            np.add(self.parts[0][mine], self.parts[1][mine], out=dx)
            for part in self.parts[2:]:
                dx += part[mine]
        return True

    def _buf(self, i: int, key: str, shape: tuple[int, ...]) -> np.ndarray:
        buf = self._bufs[i].get(key)
        if buf is None or buf.shape != shape:
            buf = self._bufs[i][key] = np.empty(shape, np.float32)
        return buf

    def _stack(self, i: int, key: str, parts: list[np.ndarray]) -> np.ndarray:
        """The parts stacked by rows into replica i's buffer kept across steps."""
        shape = (sum(p.shape[0] for p in parts), parts[0].shape[1])
        return np.concatenate(parts, out=self._buf(i, key, shape))

    def abort(self) -> None:
        """Wake the replicas waiting here (a worker failed)."""
        self.barrier.abort()
        self.decide.abort()


class Replica:
    """A layer's handle on its weight's ReplicaShare, as replica `index`."""

    def __init__(self, share: ReplicaShare, index: int) -> None:
        self.share, self.index = share, index

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, y: np.ndarray) -> np.ndarray:
        """y = x w^T + b, computed with the other replicas."""
        return self.share.forward(self.index, x, w, b, y)

    def backward(self, dy: np.ndarray, w: np.ndarray, dx: np.ndarray | None, offer: FoldOffer) -> bool:
        """dx and the folded weight update, computed with the other replicas; False: do it alone."""
        done = self.share.backward(self.index, dy, w, dx, offer.step)
        offer.taken = done
        return done


class FoldOffer:
    """One step's offer to a layer to fold its weight's update (asked once its dx is done)."""

    def __init__(self, store: ParamStore, ref: plan_pb2.ParamRef, step: int) -> None:
        self.store, self.ref, self.step = store, ref, step
        self.taken = False

    def coefficients(self) -> tuple[float, float] | None:
        """(alpha, beta): write w = beta w + alpha dw now; None: write the gradient as usual."""
        coef = self.store.fold(self.ref, self.step)
        self.taken = coef is not None
        return coef


class WeightFold:
    """A compute node's weight whose update its layer may fold: the executor offers it every step and
    asks afterwards whether the offer was taken (then the update is done, with no gradient to add)."""

    def __init__(self, layer: FoldingLayer, store: ParamStore, ref: plan_pb2.ParamRef, index: int) -> None:
        self.layer, self.store, self.ref, self.index = layer, store, ref, index

    def offer(self, step: int) -> None:
        """Hand the layer this step's offer (before its backward)."""
        self.layer.fold = FoldOffer(self.store, self.ref, step)

    def took(self, index: int) -> bool:
        """Whether param `index` of the node was updated by this step's fold."""
        offer = self.layer.fold
        return index == self.index and offer is not None and offer.taken


def weight_fold(layer: object, refs: list[plan_pb2.ParamRef], store: ParamStore) -> WeightFold | None:
    """The node's WeightFold when its layer implements FoldingLayer and has a weight, else None."""
    if not isinstance(layer, FoldingLayer) or "weight" not in layer.roles:
        return None
    i = layer.roles.index("weight")
    return WeightFold(layer, store, refs[i], i) if i < len(refs) else None


def share_replicas(store: ParamStore, folds: list[list[WeightFold]]) -> list[ReplicaShare]:
    """Let the replicas of each weight that every worker of a group uses exactly once, whole, in a
    layer that is not transposed, compute together; `folds[w]` are worker w's WeightFolds. Sets each
    such layer's `replica`; returns the shares (to abort them when a worker fails)."""
    by_param: dict[str, list[tuple[int, WeightFold]]] = {}
    for w, worker_folds in enumerate(folds):
        for fold in worker_folds:
            if not fold.layer.transpose:
                by_param.setdefault(store.owner(fold.ref.param), []).append((w, fold))
    n, shares = len(folds), []
    for entries in by_param.values():
        workers = {w for w, _ in entries}
        if n < 2 or len(entries) != n or len(workers) != n or not store.shareable(entries[0][1].ref, n):
            continue
        share = ReplicaShare(store, entries[0][1].ref, n)
        for w, fold in entries:
            fold.layer.replica = Replica(share, w)
        shares.append(share)
    return shares
