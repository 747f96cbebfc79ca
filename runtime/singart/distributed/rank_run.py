"""`singart run` as one rank of a multi-process plan: serve, register, train this rank's share, finish.

A worker rank keeps `store.ParamStore` as SINGA's stub: built over this rank's nodes only, it sums the
gradients of the rank's users of a param; its `RemoteUpdates` then pushes that sum to the param's
servers (with the number of shares it carries) and pulls the group's updated values back in place. The
pull waits for the servers' update of the step, so a synchronous group stays in step across processes.
Every process draws the initial values from the same plan and seed, so workers and servers start equal
(a process with both draws them once). Rank 0 prints the merged metrics and writes them to the event file.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn, TextIO

import numpy as np
from singa_proto import job_pb2, plan_pb2
from singa_spec.plans import content_hash

from .. import SingaError, store
from ..algorithms import make_algorithm
from ..checkpoint import Checkpoints
from ..events import EventWriter
from ..finite import check_metrics, check_params
from ..launch.rank import Rank
from ..params.client import ParamClient
from ..params.slicing import owners
from ..params.updaters import Updater
from ..train import EVALS, due, eval_graph, evaluate, find_graph, log_line, record, summary
from ..transport import TlsFiles
from ..worker import merge_metrics
from ..workspace import Workspace, check_fresh_run, open_workspace
from .coordinator import Stopped
from .group import ProcessGroup
from .history import ServerHistory
from .node import LINGER_S, Node
from .peer import COORDINATOR_RANK

EXIT_STOPPED = 3  # this process was fine; another one failed or was lost
RESUME_BARRIER = "resume"  # every rank leaves it with the step the run resumes from
TRAINED_BARRIER = "trained"  # several worker groups: every rank has trained, the final checkpoint is due
UPDATES_ENV = "SINGART_REPORT_UPDATES"  # set to 1: server ranks print their update (and Hogwild sync) counts at the end
COMM_ENV = "SINGART_REPORT_COMM"  # set to 1: worker ranks print the time and bytes of their pushes and pulls
# the phase a rank reports metrics under -> the log label: the lower-case label, as train.py names them
LABELS = {label.lower(): label for label in ("Train", *(label for _, _, label in EVALS.values()))}


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

    def whole(self, step: int, name: str, value: np.ndarray, grad: np.ndarray, scale: float = 1.0) -> None:
        # clipped (the store's scale): the servers get the scaled gradient, since they see only slices
        grad = np.ascontiguousarray(grad) if scale == 1.0 else np.multiply(grad, np.float32(scale))
        pushed = self.pushes.submit(self._timed, self.client.push, grad.nbytes, 0,
                                    self.group, step, name, grad, self.shares[name])
        self.pending.append(pushed)
        self.pending.append(self.pulls.submit(self._pull_after, pushed, step + 1, name, value))

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


def local_graph(graph: plan_pb2.PhaseGraph, workers: list[int]) -> plan_pb2.PhaseGraph:
    """The nodes of `graph` that `workers` run (the stub counts the shares of this process only)."""
    out = plan_pb2.PhaseGraph(phase=graph.phase)
    out.nodes.extend(n for n in graph.nodes if n.worker in workers)
    return out


def local_shares(plan: plan_pb2.PlanProto, graph: plan_pb2.PhaseGraph, workers: Iterable[int]) -> Counter[str]:
    """Owner param -> how many uses of it the nodes of `workers` make in one step of `graph` (the shares
    this process's push of the param carries)."""
    owner, mine = owners(plan.params), set(workers)
    return Counter(owner[r.param] for n in graph.nodes if n.worker in mine for r in n.params)


def worker_group(plan: plan_pb2.PlanProto, rank: int) -> tuple[int, list[int]] | None:
    """The worker group this rank hosts workers of, and their ids (None: it hosts no worker)."""
    role = next(r for r in plan.roles if r.rank == rank)
    groups = sorted({w.group for w in role.workers})
    if not groups:
        return None
    if len(groups) > 1:
        raise SingaError(f"rank {rank} hosts workers of groups {groups}: a process with several worker "
                         "groups is not supported by the multi-process runtime yet; set "
                         "nworkers_per_procs to at most nworkers_per_group")
    return groups[0], sorted(w.id for w in role.workers)


def reporting_ranks(plan: plan_pb2.PlanProto) -> set[int]:
    """The ranks that host workers of group 0: they report the logged metrics, as group 0 alone does in
    one process."""
    return {r.rank for r in plan.roles if any(w.group == 0 for w in r.workers)}


def checkpoint_rank(plan: plan_pb2.PlanProto) -> int | None:
    """The rank of worker 0 of group 0: it writes the job's checkpoints (None: a plan without workers)."""
    return next((r.rank for r in plan.roles for w in r.workers if (w.group, w.id) == (0, 0)), None)


class Printer:
    """Rank 0's output: the merged metrics of every step, printed and written to the workspace's event
    file as the single-process run prints and writes them."""

    def __init__(self, out: TextIO, workspace: str) -> None:
        self.out, self.folder = out, Path(workspace or ".") / "events"
        self.test: dict[str, float] = {}
        self.events: EventWriter | None = None
        self.lock = threading.Lock()  # the coordinator may merge two phases' metrics at once

    def __call__(self, phase: str, step: int, merged: dict[str, tuple[float, int]]) -> None:
        with self.lock:
            print(log_line(LABELS[phase], step, merged), file=self.out, flush=True)
            # opened at the first metrics: by then the rank that locks the workspace has locked it
            if self.events is None:
                self.events = EventWriter(self.folder)
            means = record(self.events, LABELS[phase], step, merged)
            if phase == "test":
                self.test = means

    def close(self) -> None:
        """Close the event file (when one was opened)."""
        if self.events is not None:
            self.events.close()


class RankTrainer:
    """The loop of a worker rank: this rank's share of its group, evaluations, checkpoints, metrics."""

    def __init__(self, plan: plan_pb2.PlanProto, node: Node, group: int, workers: list[int],
                 keep: int, overwrite: bool, resume: bool = False) -> None:
        self.plan, self.job, self.node, self.group = plan, plan.job, node, group
        graph = find_graph(plan, job_pb2.kTrain)
        assert graph is not None
        local = local_graph(graph, workers)
        self.client = node.client()
        self.updates = updates = RemoteUpdates(plan, Updater(plan.job.updater), self.client, group,
                                               local_shares(plan, graph, workers))
        assert node.values is not None  # a rank with workers draws every param (its shards share them)
        self.store = store.ParamStore(plan, node.values, local, updates)
        links, inbox, rank, seed = node.links, node.inbox, node.rank, self.job.seed + group
        alg = make_algorithm(self.job.train_one_batch)
        self.train = ProcessGroup(plan, graph, self.store, seed, True, rank, group, links, inbox,
                                  algorithm=alg)
        self.reports = rank in reporting_ranks(plan)
        self.evals: dict[str, ProcessGroup] = {}
        for what in EVALS:
            g = eval_graph(plan, what)
            if g is not None and self.reports:
                self.evals[what] = ProcessGroup(plan, g, self.store, seed, False, rank, group, links, inbox,
                                                algorithm=alg)
        self.workspace: Workspace | None = None
        self.checkpoints: Checkpoints | None = None
        self.history = ServerHistory(plan, self.client)
        self.start, self.resumed = self.job.step, False
        # the params this rank's nodes do not use: the servers hold their current values
        used = {self.store.owner(ref.param) for n in local.nodes for ref in n.params}
        self.elsewhere = sorted(set(self.store.values) - used)
        if rank == checkpoint_rank(plan):
            self._open_checkpoints(local, keep, overwrite, resume)

    def _open_checkpoints(self, local: plan_pb2.PhaseGraph, keep: int, overwrite: bool, resume: bool) -> None:
        self.workspace = open_workspace(self.job.cluster.workspace)
        self.checkpoints = Checkpoints(self.workspace.checkpoints, self.store, self.history, local,
                                       self.plan.content_hash or content_hash(self.plan), keep, self.node.say,
                                       grouped=True)
        if overwrite:
            self.checkpoints.replace_old = True
        elif not resume and (done := check_fresh_run(self.checkpoints.folder, self.checkpoints.plan,
                                                     self.job.train_steps)) is not None:
            self.node.say(f"singart: starting over: the finished run's checkpoints of this plan (up to "
                          f"step {done}) stay until this run writes its own")

    def load_checkpoint(self, resume: bool) -> int | None:
        """As the rank that writes checkpoints: --resume loads the newest complete step into this rank's
        params and every server group (values and the updater's history); that step (None: there is none,
        or no --resume: then the job's checkpoint_path files, when it names some, are loaded instead, as
        the one-process run does)."""
        assert self.checkpoints is not None
        step = self.checkpoints.resume() if resume else None
        if step is None:
            if resume:
                self.node.say(f"singart: no checkpoint in {self.checkpoints.folder}; starting from step "
                              f"{self.job.step}")
            self.warm_start()
            return None
        for name, value in self.store.values.items():
            self.client.put(name, value, step)
        self.node.say(f"singart: resuming from step {step} ({self.checkpoints.folder})")
        if step > self.job.step and (missing := self.history.missing()):
            self.node.say(f"singart: note: checkpoint step {step} holds no updater history of "
                          f"{', '.join(missing)} (written without it); it starts from zero, so this run "
                          "may end apart from an uninterrupted one")
        return step

    def warm_start(self) -> None:
        """Load the job's checkpoint_path files (another job's params, by name) into this rank's params
        and every server group, as they stand before the job's first step."""
        assert self.checkpoints is not None
        if self.job.checkpoint_path:
            self.checkpoints.warm_start(self.job.checkpoint_path, self.job.step, self.job.reset_param_version)
            for name, value in self.store.values.items():
                self.client.put(name, value, self.job.step)

    def start_from(self, step: int, resumed: bool = True) -> None:
        """Continue from the values the servers now hold as of `step` (a checkpoint's, or a warm
        start's): the other worker ranks take them, then that step."""
        if self.checkpoints is None:
            for name, value in self.store.values.items():
                self.client.pull(self.group, step, name, value)
        self.start, self.resumed = step, resumed

    def run(self) -> None:
        """Train from the job's (or the resumed) step to train_steps, then the final checkpoint and test."""
        start, end = self.start, self.job.train_steps
        pending: dict[str, tuple[float, int]] = {}
        for step in range(start, end):
            if self.node.peer.stopped.is_set():
                raise Stopped(self.node.peer.reason)
            for what in EVALS:
                if due(self.job, what, step) and what in self.evals:
                    self.evaluate(what, step)
            if due(self.job, "checkpoint", step) and not (self.resumed and step == start):
                self._save(step)
            self.train.run(step)
            metrics = self.train.metrics()
            check_metrics(step, metrics, "Train")
            pending = merge_metrics([pending, metrics])
            if due(self.job, "display", step):
                self.report("train", step, pending)
                pending = {}
        self.join_groups(end)
        if not (self.resumed and start >= end):  # that step's checkpoint is the one resumed from
            self._save(end)
        if "test" in self.evals:
            self.evaluate("test", end)

    def join_groups(self, end: int) -> None:
        """Several worker groups: wait until every rank has trained, then take the servers' values, so
        that the final checkpoint and test hold every group's steps (as one process's do)."""
        if several_groups(self.plan):
            self.node.peer.barrier(TRAINED_BARRIER)
            for name, value in self.store.values.items():
                self.client.pull(self.group, end, name, value)

    def _save(self, step: int) -> None:
        if self.checkpoints is not None:
            for name in self.elsewhere:  # other processes' params (model partitioning): the servers' values
                self.client.pull(self.group, step, name, self.store.values[name])
            check_params(step, self.store.values)
            self.checkpoints.save(step)

    def evaluate(self, what: str, step: int) -> None:
        """This rank's share of `test_steps` (or `validate_steps`) batches; the coordinator merges them."""
        self.report(EVALS[what][2].lower(), step, evaluate(self.job, self.evals[what], what, step))

    def report(self, phase: str, step: int, metrics: dict[str, tuple[float, int]]) -> None:
        """Send this rank's metric sums of `phase` at `step` (its batches counted once)."""
        if self.reports:
            count = max((c for _, c in metrics.values()), default=0)
            self.node.peer.report(phase, step, {k: s for k, (s, _) in metrics.items()}, count)

    def close(self) -> None:
        for group in (self.train, *self.evals.values()):
            group.close()
        if self.workspace is not None:
            self.workspace.release()


def several_groups(plan: plan_pb2.PlanProto) -> bool:
    """Whether the plan trains several worker groups, each at its own pace."""
    return plan.job.cluster.nworker_groups > 1


def resume_step(node: Node, trainer: RankTrainer | None, resume: bool) -> int | None:
    """--resume or checkpoint_path: the rank that writes checkpoints loads the newest checkpoint (or
    else the job's checkpoint_path files) into the servers while the others wait at a barrier; all leave
    it with that step (None: none resumed from), and the other workers take the servers' values."""
    mine = -1
    if trainer is not None and trainer.checkpoints is not None:
        loaded = trainer.load_checkpoint(resume)
        mine = -1 if loaded is None else loaded
    step = node.peer.barrier(RESUME_BARRIER, mine)
    if trainer is not None and step >= 0:
        trainer.start_from(step)
    elif trainer is not None and trainer.job.checkpoint_path:
        trainer.start_from(trainer.job.step, resumed=False)
    return None if step < 0 else step


def run_rank(plan: plan_pb2.PlanProto, found: Rank, token: str, keep: int, overwrite: bool,
             out: TextIO | None = None, tls: TlsFiles | None = None, resume: bool = False) -> int:
    """Run this process's rank of the plan to the end; 0 when the job finished."""
    out = out if out is not None else sys.stdout
    began, rank = time.monotonic(), found.rank
    resumed: int | None = None
    printer = Printer(out, plan.job.cluster.workspace)
    node = Node(plan, found, token, on_metrics=printer, reporters=reporting_ranks(plan), tls=tls)
    claim = threading.Lock()  # whoever takes it, the watcher or the main thread, says how the rank ends

    def on_stop(reason: str) -> None:
        if claim.acquire(blocking=False):
            node.say(f"singart: error: {reason}")
            sys.stdout.flush()
            os._exit(EXIT_STOPPED)

    try:
        node.join()
        node.watch(on_stop)
        mine = worker_group(plan, rank)
        trainer = None if mine is None else RankTrainer(plan, node, *mine, keep, overwrite, resume)
        if resume or plan.job.checkpoint_path:
            resumed = resume_step(node, trainer, resume)
        if trainer is not None:
            try:
                trainer.run()
            finally:
                trainer.close()
        elif several_groups(plan):
            node.peer.barrier(TRAINED_BARRIER)
        node.peer.finish()
    except BaseException as err:  # noqa: BLE001 -- fail() re-raises it, or the job's stop reason
        if not claim.acquire(blocking=False):
            time.sleep(60)  # the watcher is ending the process with the job's reason
        fail(node, err)
    finally:
        node.close()
        printer.close()
    if os.environ.get(UPDATES_ENV, "") not in ("", "0") and node.shards:
        node.say(f"rank {rank} updates {json.dumps(node.updates(), sort_keys=True)}")
        if plan.job.cluster.nserver_groups > 1:
            node.say(f"rank {rank} syncs {json.dumps(node.syncs(), sort_keys=True)}")
    if trainer is not None and (comm := trainer.updates.comm) is not None:
        steps = plan.job.train_steps - plan.job.step
        node.say(f"rank {rank} comm " + json.dumps(comm.report(steps)))
    if rank == COORDINATOR_RANK:
        last = trainer.checkpoints.last if trainer is not None and trainer.checkpoints is not None else None
        node.say(summary(plan.job, resumed, time.monotonic() - began, printer.test, last))
    return 0


def fail(node: Node, err: BaseException) -> NoReturn:
    """End on an error: the job's stop reason when the job stops (a call failed because of it), else
    this rank's error, which it first asks every rank to stop for; serving ranks linger (LINGER_S)."""
    reason = None if not isinstance(err, Exception) else node.stop_reason()  # an interrupt stays one
    if reason is None:
        try:
            node.peer.stop(" ".join(str(err).split()) or type(err).__name__)
        except SingaError:
            pass
    if node.serves_others():
        time.sleep(LINGER_S)
    if reason is not None:
        raise Stopped(reason) from None
    raise err
