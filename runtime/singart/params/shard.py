"""A server's shard: the param slices one server of one server group owns, and their updates.

Updates apply synchronously within a worker group and asynchronously across groups: a slice is updated
for group g's step n once the gradients pushed for it carry all `num_shares` shares of g's train graph,
counted for g alone (SINGA v0.1 counted every group's requests together, so two groups' halves could
make one update). A slice whose master is another server group sends that group its delta
(values - values at the last sync) after every `sync_freq` updates and takes back the master's values
plus what changed here meanwhile (distributed Hogwild); the group whose update made the sync due reads
it once the sync is back, so its next values hold the master's, and a replica that one worker group
updates syncs exactly once every `sync_freq` of its updates. Only names, ints and float32 arrays cross
the methods, so a gRPC servicer can stay a thin decode -> call -> encode.

With the updater's `clip_norm` set (`held_for_clip`) the servers clip: a worker group spread over several
processes has no process that holds its summed gradient, and a group in one process can push each
gradient as soon as backward has it instead of after the step's norm. A slice whose shares are all in
holds its summed gradient, every process of the group asks each server for the square sum of what it
holds for the step (`square_sum`, which waits for all of them, so every push of the step is in), each
computes the one scale min(1, clip_norm / (norm + 1e-6)) from all the servers' sums, and `apply`
updates the held slices with their gradients times that scale (the first call; the others find nothing
held).
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from singa_proto import plan_pb2

from .. import SingaError
from .slicing import Slice, slice_table
from .updaters import Updater


class SyncPeer(Protocol):
    """The master server group's side of a Hogwild sync (in process: its Shard; later a gRPC stub)."""

    def sync(self, name: str, slice_id: int, delta: np.ndarray) -> np.ndarray:
        """Add `delta` to the master's slice; its new values."""
        ...


@dataclass
class _Held:
    """One slice's values and bookkeeping; `cond` guards all of it."""

    spec: Slice
    value: np.ndarray
    cond: threading.Condition = field(default_factory=threading.Condition)
    base: int = -1                                            # the step the values were put after
    applied: dict[int, int] = field(default_factory=dict)    # worker group -> its last updated step
    pending: dict[int, list[int]] = field(default_factory=dict)  # group -> [step, shares in]
    sums: dict[int, np.ndarray] = field(default_factory=dict)    # group -> gradient summed so far
    updates: Counter[int] = field(default_factory=Counter)    # group -> updates applied
    waiting: dict[int, tuple[int, np.ndarray]] = field(default_factory=dict)  # group -> (step, sum) to clip
    syncs: int = 0                        # Hogwild syncs done: sent (a replica) or taken in (the master)
    since_sync: int = 0
    last_sync: np.ndarray | None = None  # values as of the last sync (slices another group masters)
    syncing: bool = False


class Shard:
    """The slices of server `server` in server group `group`, with the updater that updates them."""

    def __init__(self, group: int, server: int, slices: list[Slice], totals: dict[str, int],
                 updater: Updater, scales: dict[str, tuple[float, float]], sync_freq: int = 1,
                 clip_procs: dict[int, int] | None = None) -> None:
        self.group, self.server = group, server
        self.updater, self.scales, self.totals = updater, scales, totals
        self.sync_freq = max(1, sync_freq)
        self.peers: dict[int, SyncPeer] = {}
        self.held = {(s.param, s.slice_id): _Held(s, np.zeros(s.size, np.float32)) for s in slices}
        # clipping here: worker group -> its processes, each of which asks for the square sums per step
        self.clip_procs = clip_procs
        self.asked: Counter[tuple[int, int]] = Counter()  # (worker group, step) -> processes that asked
        self.square_sums: dict[tuple[int, int], float | SingaError] = {}  # their answer, once all have asked
        self.asked_cond = threading.Condition()

    @classmethod
    def from_plan(cls, plan: plan_pb2.PlanProto, group: int, server: int) -> Shard:
        """The shard of `server` in server group `group`, its values zero until `put`."""
        mine = [s for slices in slice_table(plan).values() for s in slices if s.server == server]
        totals = {e.name: e.num_shares for e in plan.params}
        scales = {e.name: (e.conf.lr_scale, e.conf.wd_scale) for e in plan.params}
        return cls(group, server, mine, totals, Updater(plan.job.updater), scales,
                   plan.job.cluster.sync_freq, held_for_clip(plan))

    def connect(self, peers: dict[int, SyncPeer]) -> None:
        """The master server groups to sync with, by group id (this group's own entry is ignored)."""
        self.peers = {g: p for g, p in peers.items() if g != self.group}

    def put(self, name: str, slice_id: int, values: np.ndarray, step: int = 0) -> None:
        """Set a slice's values, as they stand before `step`'s update (SINGA's kPut)."""
        held = self._slice(name, slice_id)
        self._check(held, values, "values")
        with held.cond:
            np.copyto(held.value, values.reshape(-1))
            held.base, held.applied = step - 1, {}
            held.last_sync = held.value.copy() if held.spec.master_group != self.group else None
            held.cond.notify_all()

    def update(self, wgroup: int, step: int, name: str, slice_id: int, grad: np.ndarray,
               shares: int = 1) -> bool:
        """Add a gradient that sums `shares` of worker group `wgroup`'s shares of the slice at `step`;
        True when it was the last share: the update is applied, or held for `apply` when the servers clip."""
        held = self._slice(name, slice_id)
        self._check(held, grad, "gradient")
        total = self.totals.get(name, 1)
        with held.cond:
            step_in, count = held.pending.get(wgroup, [step, 0])
            if step_in != step:
                raise self._error(held, f"worker group {wgroup} sent step {step} while step {step_in} "
                                        f"waits for {total - count} of its {total} shares")
            if count + shares > total:
                raise self._error(held, f"worker group {wgroup} sent {shares} shares at step {step}, "
                                        f"{count} of its {total} shares were in")
            done = count + shares == total
            grad = self._summed(held, wgroup, count, grad.reshape(-1), done)
            if not done:
                held.pending[wgroup] = [step, count + shares]
                return False
            held.pending.pop(wgroup, None)
            if self.clip_procs is not None:  # the step's scale is not known yet: `apply` updates
                held.waiting[wgroup] = (step, grad)
                return True
        self._update(held, wgroup, step, grad)
        return True

    def square_sum(self, wgroup: int, step: int, timeout: float | None = 60.0) -> float:
        """The square sum of every gradient of worker group `wgroup` held here for `step`, once each of
        the group's processes has asked (each asks after its pushes of the step are in). It is summed
        once, by the last to ask, before any is answered: an `apply` cannot change it under another."""
        if self.clip_procs is None:
            raise SingaError(f"server {self.server} of server group {self.group}: square sums asked, but "
                             f"the plan does not clip gradients")
        procs, key = self.clip_procs.get(wgroup, 1), (wgroup, step)
        with self.asked_cond:
            self.asked[key] += 1
            if self.asked[key] == procs:
                self._sum_for_all(wgroup, step)
            else:
                self._wait_for_all(key, procs, timeout)
            result = self.square_sums[key]
        if isinstance(result, SingaError):
            raise result
        return result

    def _sum_for_all(self, wgroup: int, step: int) -> None:
        """As the last of the group's processes to ask: sum, answer them all, forget the old steps."""
        for old in [k for k in self.square_sums if k[0] == wgroup and k[1] < step - 1]:
            del self.square_sums[old], self.asked[old]  # every process has left those waits
        try:
            self.square_sums[wgroup, step] = self._held_square_sum(wgroup, step)
        except SingaError as err:
            self.square_sums[wgroup, step] = err
        self.asked_cond.notify_all()

    def _wait_for_all(self, key: tuple[int, int], procs: int, timeout: float | None) -> None:
        if not self.asked_cond.wait_for(lambda: key in self.square_sums, timeout):
            raise SingaError(f"server {self.server} of server group {self.group}: {self.asked[key]} of "
                             f"worker group {key[0]}'s {procs} processes finished step {key[1]} within "
                             f"{timeout} s")

    def _held_square_sum(self, wgroup: int, step: int) -> float:
        total = 0.0
        for held in (self.held[k] for k in sorted(self.held)):
            with held.cond:
                pending = held.pending.get(wgroup)
                if pending is not None:
                    raise self._error(held, f"worker group {wgroup} finished step {step} with {pending[1]} "
                                            f"of its {self.totals.get(held.spec.param, 1)} shares in")
                step_held, grad = held.waiting.get(wgroup, (-1, None))
                if grad is not None and step_held == step:
                    total += float(np.dot(grad, grad))
        return total

    def apply(self, wgroup: int, step: int, scale: float) -> None:
        """Update every slice holding worker group `wgroup`'s gradient of `step`, times `scale`."""
        for held in (self.held[k] for k in sorted(self.held)):
            with held.cond:
                step_held, grad = held.waiting.get(wgroup, (-1, None))
                if step_held != step or grad is None:
                    continue
                del held.waiting[wgroup]
            self._update(held, wgroup, step, grad, scale)

    def _update(self, held: _Held, wgroup: int, step: int, grad: np.ndarray, scale: float = 1.0) -> None:
        """Apply `wgroup`'s update of `step`, sync with the master when due, then let its readers in."""
        with held.cond:
            self._apply(held, step, grad, scale)
            due = self._sync_due(held)
            if not due:
                self._publish(held, wgroup, step)
        if due:
            try:
                self._sync(held)
            finally:
                with held.cond:
                    self._publish(held, wgroup, step)

    def get(self, wgroup: int, name: str, slice_id: int, step: int, out: np.ndarray | None = None,
            timeout: float | None = 60.0) -> np.ndarray:
        """The values worker group `wgroup` sees at `step` (waits for its update of step - 1), copied
        into `out` when given."""
        held = self._slice(name, slice_id)
        with held.cond:
            if not held.cond.wait_for(lambda: held.applied.get(wgroup, held.base) >= step - 1, timeout):
                last = held.applied.get(wgroup, held.base)
                raise self._error(held, f"worker group {wgroup} waited {timeout} s for step {step}'s "
                                        f"values; its last update was step {last}")
            if out is None:
                return held.value.copy()
            np.copyto(out.reshape(-1), held.value)
            return out

    def sync(self, name: str, slice_id: int, delta: np.ndarray) -> np.ndarray:
        """As the slice's master: add another server group's delta; the new values."""
        held = self._slice(name, slice_id)
        self._check(held, delta, "delta")
        with held.cond:
            held.value += delta.reshape(-1)
            held.syncs += 1
            return held.value.copy()

    def history(self, name: str, slice_id: int, slot: str) -> tuple[np.ndarray, int]:
        """A copy of the updater's history `slot` of a slice and the updates applied to it (an empty
        array before the first update), for a checkpoint: taken between two updates, never during one."""
        held = self._slice(name, slice_id)
        key = f"{name}#{slice_id}"
        with held.cond:
            arr = self.updater.slots.get(key, {}).get(slot)
            return (np.empty(0, np.float32) if arr is None else arr.copy()), self.updater.counts.get(key, 0)

    def put_history(self, name: str, slice_id: int, slot: str, values: np.ndarray, count: int) -> None:
        """Set a slice's history `slot` and its update count, as a checkpoint holds them (--resume)."""
        held = self._slice(name, slice_id)
        self._check(held, values, f"history {slot!r}")
        key = f"{name}#{slice_id}"
        with held.cond:
            try:
                self.updater.load_state({f"{key}/{slot}": values.reshape(-1), f"{key}/count": np.array([count])})
            except ValueError as err:  # another rule's slot: the checkpoint is another job's
                raise self._error(held, str(err)) from None

    def updates(self, name: str, slice_id: int) -> dict[int, int]:
        """Updates applied to a slice so far, by worker group."""
        return dict(self._slice(name, slice_id).updates)

    def syncs(self, name: str, slice_id: int) -> int:
        """Hogwild syncs of a slice so far: sent to its master, or (the master's) taken in."""
        return self._slice(name, slice_id).syncs

    def _slice(self, name: str, slice_id: int) -> _Held:
        held = self.held.get((name, slice_id))
        if held is None:
            raise SingaError(f"server {self.server} of server group {self.group}: no slice {slice_id} "
                             f"of param {name!r} here ({len(self.held)} slices held)")
        return held

    def _check(self, held: _Held, array: np.ndarray, what: str) -> None:
        if array.dtype != np.float32:
            raise self._error(held, f"{what} of dtype {array.dtype}, float32 expected")
        if array.size != held.spec.size:
            raise self._error(held, f"{what} of {array.size} floats, the slice has {held.spec.size}")

    def _error(self, held: _Held, what: str) -> SingaError:
        s = held.spec
        return SingaError(f"server {self.server} of server group {self.group}: param {s.param!r} "
                          f"slice {s.slice_id}: {what}")

    def _summed(self, held: _Held, wgroup: int, count: int, grad: np.ndarray, done: bool) -> np.ndarray:
        """The group's gradient sum with `grad` in; a lone complete gradient is used as it is (unless it
        waits for the clipping scale: the caller's buffer is its own again once the call returns)."""
        if count == 0 and done and self.clip_procs is None:
            return grad
        buf = held.sums.get(wgroup)
        if buf is None:
            buf = held.sums[wgroup] = np.empty_like(held.value)
        if count == 0:
            np.copyto(buf, grad)
        else:
            np.add(buf, grad, out=buf)
        return buf

    def _apply(self, held: _Held, step: int, grad: np.ndarray, scale: float = 1.0) -> None:
        s = held.spec
        lr_scale, wd_scale = self.scales.get(s.param, (1.0, 1.0))
        self.updater.update(step, f"{s.param}#{s.slice_id}", held.value, grad,
                            lr_scale=lr_scale, wd_scale=wd_scale, grad_scale=scale)
        held.since_sync += 1

    def _publish(self, held: _Held, wgroup: int, step: int) -> None:
        """Let `wgroup`'s readers of `step + 1` in (a later step of it may have been published first,
        while a sync was away)."""
        held.applied[wgroup] = max(step, held.applied.get(wgroup, step))
        held.updates[wgroup] += 1
        held.cond.notify_all()

    def _sync_due(self, held: _Held) -> bool:
        master = held.spec.master_group
        return (master != self.group and master in self.peers and not held.syncing
                and held.since_sync >= self.sync_freq)

    def _sync(self, held: _Held) -> None:
        """Send the delta since the last sync to the master; values = master's + what changed since."""
        s = held.spec
        with held.cond:
            assert held.last_sync is not None
            held.syncing, held.since_sync = True, 0
            snapshot = held.value.copy()
            delta = snapshot - held.last_sync
        try:
            fresh = self.peers[s.master_group].sync(s.param, s.slice_id, delta)
        finally:
            with held.cond:
                held.syncing = False
        with held.cond:
            # fresh + (value - snapshot): exactly the master's values when nothing changed meanwhile
            np.subtract(held.value, snapshot, out=snapshot)
            np.add(fresh, snapshot, out=held.value)
            held.last_sync = fresh
            held.syncs += 1
            held.cond.notify_all()


def held_for_clip(plan: plan_pb2.PlanProto) -> dict[int, int] | None:
    """Worker group -> its processes, when the job clips gradients (`clip_norm` set): a job with servers
    clips on them; None when nothing clips."""
    if plan.job.updater.clip_norm <= 0:
        return None
    procs: dict[int, set[int]] = {}
    for role in plan.roles:
        for w in role.workers:
            procs.setdefault(w.group, set()).add(role.rank)
    return {g: len(ranks) for g, ranks in procs.items()}
