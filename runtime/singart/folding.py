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
    """The replicas of one weight across a group's workers, meeting once per step to fold together."""

    def __init__(self, store: ParamStore, ref: plan_pb2.ParamRef, n: int) -> None:
        self.store, self.ref, self.n = store, ref, n
        self.posts: list[tuple[np.ndarray, np.ndarray]] = [(np.empty(0), np.empty(0))] * n
        self.coef: tuple[float, float] | None = None
        self.step = 0
        self.barrier = threading.Barrier(n, action=self._decide)
        self._bufs: list[dict[str, np.ndarray]] = [{} for _ in range(n)]

    def _decide(self) -> None:  # run by one thread once every replica has posted
        self.coef = self.store.fold_all(self.ref, self.step)

    def join(self, i: int, dy: np.ndarray, x: np.ndarray, step: int) -> Fold | None:
        """Replica `i` posts its dy and x (its dx done) and waits for the others; the fold of its rows."""
        self.posts[i], self.step = (dy, x), step
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            raise Aborted("another worker of the group failed") from None
        if self.coef is None:
            return None
        m = dy.shape[1]
        rows = slice(i * m // self.n, (i + 1) * m // self.n)
        dys = [p[0][:, rows] for p in self.posts]
        xs = [p[1] for p in self.posts]
        return Fold(rows, self._join(i, "dy", dys), self._join(i, "x", xs), *self.coef)

    def _join(self, i: int, key: str, parts: list[np.ndarray]) -> np.ndarray:
        """The parts stacked by rows into replica i's buffer kept across steps."""
        shape = (sum(p.shape[0] for p in parts), parts[0].shape[1])
        buf = self._bufs[i].get(key)
        if buf is None or buf.shape != shape:
            buf = self._bufs[i][key] = np.empty(shape, np.float32)
        return np.concatenate(parts, out=buf)

    def abort(self) -> None:
        """Wake the replicas waiting here (a worker failed)."""
        self.barrier.abort()


class FoldOffer:
    """One step's offer to a layer: called with its dy and input once its dx is done."""

    def __init__(self, store: ParamStore, ref: plan_pb2.ParamRef, index: int, step: int,
                 share: tuple[ReplicaShare, int] | None) -> None:
        self.store, self.ref, self.index, self.step, self.share = store, ref, index, step, share
        self.taken = False

    def __call__(self, dy: np.ndarray, x: np.ndarray) -> Fold | None:
        """The fold to apply, or None: write the gradient as usual."""
        if self.share is not None:
            fold = self.share[0].join(self.share[1], dy, x, self.step)
        else:
            coef = self.store.fold(self.ref, self.step)
            fold = None if coef is None else Fold(slice(None), dy, x, *coef)
        self.taken = fold is not None
        return fold


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
        if n < 2 or len(entries) != n or len(workers) != n or not store.foldable_whole(entries[0][1], n):
            continue
        share = ReplicaShare(store, entries[0][1], n)
        for w, _, step in entries:
            out[id(step)] = (share, w)
    return out
