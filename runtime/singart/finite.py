"""Stopping a run whose loss or params went NaN or infinite, at the first step it shows.

Per step only the loss sums are looked at (scalars the loss layers keep anyway), right after forward,
so that backward never turns a non-finite loss into updates. A gradient that overflows makes its param
non-finite: the next forward's loss shows it, and the params are checked whole before every checkpoint,
so none holding NaN or infinity is ever written. Only once a check fails are the layer outputs searched
for the first non-finite one.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from singa_proto import plan_pb2

from . import SingaError
from .manifests import complete_steps, remove_steps


class NonFinite(SingaError):
    """A loss, metric or param of step `step` is NaN or infinite."""

    def __init__(self, step: int, message: str) -> None:
        super().__init__(f"step {step}: {message}")
        self.step, self.detail = step, message


def bad_value(x: float) -> str:
    """'nan', 'inf' or '-inf'."""
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def nonfinite_metric(metrics: dict[str, tuple[float, int]]) -> str | None:
    """'loss is nan' for the first metric whose sum is NaN or infinite; None when all are finite."""
    for name, (total, _) in metrics.items():
        if not math.isfinite(total):
            return f"{name} is {bad_value(total)}"
    return None


def check_metrics(step: int, metrics: dict[str, tuple[float, int]], label: str) -> None:
    """Raise NonFinite when a metric sum is NaN or infinite (`label`: whose metrics, e.g. 'Test')."""
    bad = nonfinite_metric(metrics)
    if bad is not None:
        raise NonFinite(step, f"{label} {bad}")


def check_params(step: int, values: dict[str, np.ndarray]) -> None:
    """Raise NonFinite when a param holds NaN or infinity (before a checkpoint would save it)."""
    for name, value in values.items():
        if not np.isfinite(value).all():
            kind = "nan" if np.isnan(value).any() else "inf"
            raise NonFinite(step, f"param '{name}' holds {kind} (an update before this step made it "
                                  "non-finite)")


def first_nonfinite(nodes: Iterable[plan_pb2.Node], outs: dict[str, Any],
                    graph: dict[str, plan_pb2.Node]) -> str | None:
    """The user's layer whose output first went non-finite, scanning `nodes` in execution order (a
    tensor from another worker is named by the layer that made it)."""
    for node in nodes:
        x = outs.get(node.name)
        if isinstance(x, np.ndarray) and x.dtype.kind == "f" and not np.isfinite(x).all():
            return producer(node, graph)
    return None


def producer(node: plan_pb2.Node, graph: dict[str, plan_pb2.Node]) -> str:
    """The user's layer behind a node: itself for a layer, else the layer its input comes from."""
    seen = set()
    while node.kind != plan_pb2.kCompute and node.name not in seen:
        seen.add(node.name)
        src = node.peer if node.kind == plan_pb2.kBridgeDstNode else (node.srcs[0] if node.srcs else "")
        if src not in graph:
            break
        node = graph[src]
    return node.origin or node.name


def last_good(err: NonFinite, folder: Path, written: list[int]) -> SingaError:
    """The run's error: `err`, and which checkpoint still holds params that train on."""
    # checkpoints this run wrote at or after the step hold the params that gave that loss: unmark them, so
    # that the newest complete one is the last good one
    remove_steps(folder, [s for s in written if s >= err.step])
    steps = [m.step for m in complete_steps(folder)]
    good = next((s for s in steps if s < err.step), None)
    where = f"the last good checkpoint is step {good}" if good is not None else "no good checkpoint was written"
    later = [s for s in steps if s >= err.step]  # another run's (the one this run resumed from, say)
    if later:
        where += f" (step {later[-1]}, which this run did not write, leads to this step)"
    return SingaError(f"{err}; {where}")
