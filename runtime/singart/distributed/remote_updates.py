"""A worker rank's updates through the servers (SINGA's stub pushing its summed gradients), and the
timing of its pushes and pulls that benchmarks read."""
from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from singa_proto import plan_pb2

from .. import store
from ..params.client import ParamClient
from ..params.updaters import Updater

COMM_ENV = "SINGART_REPORT_COMM"  # set to 1: worker ranks print the time and bytes of their pushes and pulls


class CommTimes:
    """A worker rank's step times and its pushes and pulls (benchmarks read them; off, nothing is
    timed): `seconds` in the calls (overlapping backward and each other), `waited` at the end of the
    steps for the ones still in flight, and the wall time of each step (end to end)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds, self.waited, self.bytes, self.calls = 0.0, 0.0, 0, 0
        self.steps_ms: list[float] = []
        self.waits_ms: list[float] = []
        self.last = time.perf_counter()

    def add(self, seconds: float, nbytes: int, calls: int = 1) -> None:
        """A push or pull of `nbytes`; `calls` counts push + pull pairs (one per param per step)."""
        with self.lock:
            self.seconds, self.bytes, self.calls = self.seconds + seconds, self.bytes + nbytes, self.calls + calls

    def step(self, waited: float) -> None:
        """A step ended, after waiting `waited` seconds for its pushes and pulls."""
        now = time.perf_counter()
        self.steps_ms.append((now - self.last) * 1e3)
        self.waits_ms.append(waited * 1e3)
        self.waited, self.last = self.waited + waited, now

    def report(self, steps: int) -> dict[str, object]:
        return {"seconds": round(self.seconds, 6), "waited": round(self.waited, 6), "bytes": self.bytes,
                "calls": self.calls, "steps": steps, "step_ms": [round(t, 3) for t in self.steps_ms],
                "wait_ms": [round(t, 3) for t in self.waits_ms]}


class RemoteUpdates(store.Updates):
    """Updates through the servers: push this process's summed gradient, pull the group's new values.

    A param's push starts as soon as backward has its gradient (while backward goes on with the
    layers below), and its pull right after its push, on threads of their own: pushes never queue
    behind pulls, which wait for the other processes' shares. `finish` waits for them all at the end of
    the step, so the next forward, evaluation or checkpoint sees the values a synchronous run would.
    The gradient and value arrays are not touched by anything else until then."""

    def __init__(self, plan: plan_pb2.PlanProto, updater: Updater, client: ParamClient, group: int,
                 shares: Counter[str]) -> None:
        super().__init__(plan, updater)
        self.client, self.group, self.shares = client, group, shares
        self.comm = CommTimes() if os.environ.get(COMM_ENV, "") not in ("", "0") else None
        self.pushes = ThreadPoolExecutor(2, thread_name_prefix="push")
        self.pulls = ThreadPoolExecutor(max(1, min(8, len(shares))), thread_name_prefix="pull")
        self.pending: list[Future[None]] = []
        self.early: dict[str, Future[None]] = {}  # with clipping: this step's pushes, by param

    def whole(self, step: int, name: str, value: np.ndarray, grad: np.ndarray, scale: float = 1.0) -> None:
        assert scale == 1.0, "with clipping the servers scale (clipped)"
        grad = np.ascontiguousarray(grad)
        pushed = self.pushes.submit(self._timed, self.client.push, grad.nbytes, 0,
                                    self.group, step, name, grad, self.shares[name])
        self.pending.append(pushed)
        self.pending.append(self.pulls.submit(self._pull_after, pushed, step + 1, name, value))

    def summed(self, step: int, name: str, grad: np.ndarray) -> None:
        """With clipping (on the servers): push the gradient now, while backward goes on."""
        self.early[name] = self.pushes.submit(self._timed, self.client.push, grad.nbytes, 0, self.group, step,
                                              name, np.ascontiguousarray(grad), self.shares[name])

    def clipped(self, step: int, params: list[tuple[str, np.ndarray, np.ndarray]], clip_norm: float) -> None:
        """The servers clip: each gradient was pushed as it was summed (`summed`), each slice's sum waits
        on its server; once every process of the group has pushed, all have the servers apply the step's
        one scale (client.clip), then they pull."""
        pushed, self.early = self.early, {}
        self.pending.extend(pushed.values())
        errors = [f.exception() for f in pushed.values()]  # all done, then the first error in order
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first
        self.client.clip(self.group, step, clip_norm)
        self.pending.extend(self.pulls.submit(self._pull_after, pushed[name], step + 1, name, value)
                            for name, value, _ in params)

    def _pull_after(self, pushed: Future[None], step: int, name: str, value: np.ndarray) -> None:
        pushed.result()  # its error is raised by finish, from the push's own future
        self._timed(self.client.pull, value.nbytes, 1, self.group, step, name, value)

    def _timed(self, call: Callable[..., None], nbytes: int, calls: int, *args: object) -> None:
        began = time.perf_counter()
        call(*args)
        if self.comm is not None:
            self.comm.add(time.perf_counter() - began, nbytes, calls)

    def finish(self, step: int) -> None:
        """Wait for the step's pushes and pulls; the first one's error (in the order issued) is raised."""
        began = time.perf_counter()
        pending, self.pending = self.pending, []
        errors = [f.exception() for f in pending]
        if self.comm is not None:
            self.comm.step(time.perf_counter() - began)
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first

    def fold(self, step: int, name: str) -> tuple[float, float] | None:
        return None  # the servers run the updater

    def close(self) -> None:
        """Stop the push and pull threads (the step's calls are done: `finish` waited for them)."""
        self.pushes.shutdown(wait=False)
        self.pulls.shutdown(wait=False)

