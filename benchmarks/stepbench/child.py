"""What a child process does: one measurement, printed as one JSON line.

singart_side and torch_side are imported only in the branch that needs them: a process runs one
framework, so neither OpenMP runtime, nor its settings, reaches the other's measurements.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from .nets import VARIANTS


def child(spec: dict[str, Any]) -> None:
    """Measure what `spec` says in this process; print one JSON line."""
    kind = spec["kind"]
    if kind == "peak":
        from .singart_side import sgemm_gflops

        result: dict[str, Any] = {"gflops": sgemm_gflops(spec["threads"])}
    elif kind == "check":
        from .torch_side import check_twin

        check_twin(spec["net"], spec["plan"])
        result = {"ok": True}
    elif kind == "group":
        from .singart_side import singart_train_step

        result = timed_steps(singart_train_step(spec["job"], spec["threads"]), spec["warmup"], spec["steps"])
    else:
        result = torch_child(spec)
    print(json.dumps(result), flush=True)


def torch_child(spec: dict[str, Any]) -> dict[str, Any]:
    """A PyTorch variant's step times; a variant that fails is a result, not a crash."""
    try:
        from .torch_side import torch_train_step

        step = torch_train_step(spec["net"], VARIANTS[spec["variant"]], spec["threads"])
        return timed_steps(step, spec["warmup"], spec["steps"])
    except Exception as err:  # noqa: BLE001 -- reported as the variant's one-line failure
        return {"error": one_line(err)}


def timed_steps(step: Callable[[int], None], warmup: int, steps: int) -> dict[str, list[float]]:
    """Per-step ms of the first `warmup` steps (kept apart from the result) and of `steps` after them."""
    def one(i: int) -> float:
        t = time.perf_counter()
        step(i)
        return (time.perf_counter() - t) * 1e3

    warm = [one(i) for i in range(warmup)]
    return {"warmup_ms": warm, "times_ms": [one(i) for i in range(warmup, warmup + steps)]}


def one_line(err: BaseException) -> str:
    """The exception's type and first non-empty line, at most 300 characters."""
    text = next((line.strip() for line in str(err).splitlines() if line.strip()), "")
    return f"{type(err).__name__}: {text}"[:300]
