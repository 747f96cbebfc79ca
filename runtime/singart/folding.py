"""Weight updates folded into the GEMM that makes the weight's gradient.

With an update rule that is linear in the weight and its gradient (plain SGD), this step's update is
w = beta w + alpha dw, and the inner product's dw GEMM can write it straight into w: no gradient
buffer, no update pass. A layer is offered the fold once it no longer needs the old weight (after its
dx). Replicas of one layer in the workers of a group (batch partitioning) fold together: once every
replica has its dx, each computes the rows of dw it owns over the whole batch and folds them in, so
every row of w is written once, with no partial gradients to sum.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from singa_proto import plan_pb2

from . import ops
from .connection import Aborted
from .store import ParamStore


@dataclass(frozen=True)
class Fold:
    """Write w[rows] = beta w[rows] + alpha dy^T x (the layer's own dy and x, or the whole batch's)."""

    rows: slice
    dy: np.ndarray
    x: np.ndarray
    alpha: float
    beta: float


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
        if self.coef is None and not self.store.update_rows(self.ref, step, rows, first=i == 0) and i == 0:
            self.store.update_whole(self.ref, step)
        if dx is not None:
            mine = self.batch_rows(i)
            np.copyto(dx, self.parts[0][mine])
            for part in self.parts[1:]:
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
    """One step's offer to a layer: called with its dy and input once its dx is done."""

    def __init__(self, store: ParamStore, ref: plan_pb2.ParamRef, index: int, step: int) -> None:
        self.store, self.ref, self.index, self.step = store, ref, index, step
        self.taken = False

    def __call__(self, dy: np.ndarray, x: np.ndarray) -> Fold | None:
        """The fold to apply, or None: write the gradient as usual."""
        coef = self.store.fold(self.ref, self.step)
        self.taken = coef is not None
        return None if coef is None else Fold(slice(None), dy, x, *coef)


def replica_shares(store: ParamStore, users: list[list[tuple[plan_pb2.ParamRef, Any]]],
                   ) -> dict[int, tuple[ReplicaShare, int]]:
    """Shares for the weights every worker of a group uses exactly once, whole, in a layer that folds.

    `users[w]` lists worker w's (weight ref, step) pairs; returns {id(step): (share, worker index)}."""
    by_param: dict[str, list[tuple[int, plan_pb2.ParamRef, Any]]] = {}
    for w, pairs in enumerate(users):
        for ref, step in pairs:
            by_param.setdefault(store.owner(ref.param), []).append((w, ref, step))
    out: dict[int, tuple[ReplicaShare, int]] = {}
    n = len(users)
    for entries in by_param.values():
        workers = {w for w, _, _ in entries}
        if n < 2 or len(entries) != n or len(workers) != n or not store.shareable(entries[0][1], n):
            continue
        share = ReplicaShare(store, entries[0][1], n)
        for w, _, step in entries:
            out[id(step)] = (share, w)
    return out
