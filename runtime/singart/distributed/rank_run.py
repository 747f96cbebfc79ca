"""`singart run` as one rank of a multi-process plan: serve, register, train this rank's share, finish.

A worker rank keeps `store.ParamStore` as SINGA's stub: built over this rank's nodes only, it sums the
gradients of the rank's users of a param; its `RemoteUpdates` then pushes that sum to the param's
servers (with the number of shares it carries) and pulls the group's updated values back in place. The
pull waits for the servers' update of the step, so a synchronous group stays in step across processes.
Every process draws the initial values from the same plan and seed, so workers and servers start equal.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from typing import NoReturn, TextIO

import numpy as np
from singa_proto import job_pb2, plan_pb2
from singa_spec.plans import content_hash

from .. import SingaError, store
from ..algorithms import make_algorithm
from ..checkpoint import Checkpoints
from ..finite import check_metrics, check_params
from ..launch.rank import Rank
from ..params.aggregator import local_shares
from ..params.client import ParamClient
from ..params.updaters import Updater
from ..train import EVALS, averages, due, duration, find_graph, log_line
from ..transport import TlsFiles
from ..workspace import Workspace, check_fresh_run, open_workspace
from .coordinator import Stopped
from .group import ProcessGroup
from .history import ServerHistory
from .node import LINGER_S, Node
from .peer import COORDINATOR_RANK

EXIT_STOPPED = 3  # this process was fine; another one failed or was lost
RESUME_BARRIER = "resume"  # every rank leaves it with the step the run resumes from
UPDATES_ENV = "SINGART_REPORT_UPDATES"  # set to 1: server ranks print their update (and Hogwild sync) counts at the end
COMM_ENV = "SINGART_REPORT_COMM"  # set to 1: worker ranks print the time and bytes of their pushes and pulls
LABELS = {"train": "Train", "validation": "Validation", "test": "Test"}


class CommTimes:
    """Seconds and bytes in a rank's pushes and pulls (benchmarks read them; off, nothing is timed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds, self.bytes, self.calls = 0.0, 0, 0

    def add(self, seconds: float, nbytes: int) -> None:
        with self.lock:
            self.seconds, self.bytes, self.calls = self.seconds + seconds, self.bytes + nbytes, self.calls + 1


class RemoteUpdates(store.Updates):
    """Updates through the servers: push this process's summed gradient, pull the group's new values."""

    def __init__(self, plan: plan_pb2.PlanProto, updater: Updater, client: ParamClient, group: int,
                 shares: Counter[str]) -> None:
        super().__init__(plan, updater)
        self.client, self.group, self.shares = client, group, shares
        self.comm = CommTimes() if os.environ.get(COMM_ENV, "") not in ("", "0") else None

    def whole(self, step: int, name: str, value: np.ndarray, grad: np.ndarray) -> None:
        began = time.perf_counter() if self.comm is not None else 0.0
        self.client.push(self.group, step, name, np.ascontiguousarray(grad), self.shares[name])
        self.client.pull(self.group, step + 1, name, value)
        if self.comm is not None:
            self.comm.add(time.perf_counter() - began, grad.nbytes + value.nbytes)

    def fold(self, step: int, name: str) -> tuple[float, float] | None:
        return None  # the servers run the updater


def local_graph(graph: plan_pb2.PhaseGraph, workers: list[int]) -> plan_pb2.PhaseGraph:
    """The nodes of `graph` that `workers` run (the stub counts the shares of this process only)."""
    out = plan_pb2.PhaseGraph(phase=graph.phase)
    out.nodes.extend(n for n in graph.nodes if n.worker in workers)
    return out


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
    """Rank 0's output: the merged metrics of every step, as the single-process run prints them."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.test: dict[str, float] = {}

    def __call__(self, phase: str, step: int, merged: dict[str, tuple[float, int]]) -> None:
        print(log_line(LABELS[phase], step, merged), file=self.out, flush=True)
        if phase == "test":
            self.test = averages(merged)


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
        self.store = store.ParamStore(plan, store.init_values(plan), local, updates)
        links, inbox, rank, seed = node.links, node.inbox, node.rank, self.job.seed + group
        alg = make_algorithm(self.job.train_one_batch)
        self.train = ProcessGroup(plan, graph, self.store, seed, True, rank, group, links, inbox,
                                  algorithm=alg)
        self.reports = rank in reporting_ranks(plan)
        self.evals: dict[str, ProcessGroup] = {}
        for what, (phase, steps_field, _) in EVALS.items():
            g = find_graph(plan, phase)
            wanted = getattr(self.job, steps_field) > 0 and (what == "test" or self.job.validate_freq > 0)
            if g is not None and wanted and self.reports:
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
                                       self.plan.content_hash or content_hash(self.plan), keep, self.node.say)
        if overwrite:
            self.checkpoints.replace_old = True
        elif not resume and (done := check_fresh_run(self.checkpoints.folder, self.checkpoints.plan,
                                                     self.job.train_steps)) is not None:
            self.node.say(f"singart: starting over: the finished run's checkpoints of this plan (up to "
                          f"step {done}) stay until this run writes its own")

    def load_checkpoint(self) -> int | None:
        """As the rank that writes checkpoints: load the newest complete step into this rank's params and
        every server group (values and the updater's history); that step (None: there is none)."""
        assert self.checkpoints is not None
        step = self.checkpoints.resume()
        if step is None:
            self.node.say(f"singart: no checkpoint in {self.checkpoints.folder}; starting from step {self.job.step}")
            return None
        for name, value in self.store.values.items():
            self.client.put(name, value, step)
        self.node.say(f"singart: resuming from step {step} ({self.checkpoints.folder})")
        if step > self.job.step and (missing := self.history.missing()):
            self.node.say(f"singart: note: checkpoint step {step} holds no updater history of "
                          f"{', '.join(missing)} (written without it); it starts from zero, so this run "
                          "may end apart from an uninterrupted one")
        return step

    def start_from(self, step: int) -> None:
        """Continue from the checkpoint of `step` that the servers now hold: their values, then its step."""
        if self.checkpoints is None:
            for name, value in self.store.values.items():
                self.client.pull(self.group, step, name, value)
        self.start, self.resumed = step, True

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
            for k, (s, c) in metrics.items():
                s0, c0 = pending.get(k, (0.0, 0))
                pending[k] = (s0 + s, c0 + c)
            if due(self.job, "display", step):
                self.report("train", step, pending)
                pending = {}
        if not (self.resumed and start >= end):  # that step's checkpoint is the one resumed from
            self._save(end)
        if "test" in self.evals:
            self.evaluate("test", end)

    def _save(self, step: int) -> None:
        if self.checkpoints is not None:
            for name in self.elsewhere:  # other processes' params (model partitioning): the servers' values
                self.client.pull(self.group, step, name, self.store.values[name])
            check_params(step, self.store.values)
            self.checkpoints.save(step)

    def evaluate(self, what: str, step: int) -> None:
        """This rank's share of `test_steps` (or `validate_steps`) batches; the coordinator merges them."""
        group = self.evals[what]
        _, steps_field, label = EVALS[what]
        group.metrics()
        for i in range(getattr(self.job, steps_field)):
            group.run(i)
        metrics = group.metrics()
        check_metrics(step, metrics, label)
        self.report(label.lower(), step, metrics)

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


def resume_step(node: Node, trainer: RankTrainer | None) -> int | None:
    """--resume: the rank that writes checkpoints loads the newest one into the servers while the others
    wait at a barrier; all leave it with that step (None: none), and the other workers take its values."""
    mine = -1
    if trainer is not None and trainer.checkpoints is not None:
        loaded = trainer.load_checkpoint()
        mine = -1 if loaded is None else loaded
    step = node.peer.barrier(RESUME_BARRIER, mine)
    if step < 0:
        return None
    if trainer is not None:
        trainer.start_from(step)
    return step


def run_rank(plan: plan_pb2.PlanProto, found: Rank, token: str, keep: int, overwrite: bool,
             out: TextIO | None = None, tls: TlsFiles | None = None, resume: bool = False) -> int:
    """Run this process's rank of the plan to the end; 0 when the job finished."""
    out = out if out is not None else sys.stdout
    began, rank = time.monotonic(), found.rank
    resumed: int | None = None
    printer = Printer(out)
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
        if resume:
            resumed = resume_step(node, trainer)
        if trainer is not None:
            try:
                trainer.run()
            finally:
                trainer.close()
        node.peer.finish()
    except BaseException as err:  # noqa: BLE001 -- fail() re-raises it, or the job's stop reason
        if not claim.acquire(blocking=False):
            time.sleep(60)  # the watcher is ending the process with the job's reason
        fail(node, err)
    finally:
        node.close()
    if os.environ.get(UPDATES_ENV, "") not in ("", "0") and node.shards:
        node.say(f"rank {rank} updates {json.dumps(node.updates(), sort_keys=True)}")
        if plan.job.cluster.nserver_groups > 1:
            node.say(f"rank {rank} syncs {json.dumps(node.syncs(), sort_keys=True)}")
    if trainer is not None and (comm := trainer.updates.comm) is not None:
        steps = plan.job.train_steps - plan.job.step
        node.say(f"rank {rank} comm " + json.dumps({"seconds": round(comm.seconds, 6), "bytes": comm.bytes,
                                                     "calls": comm.calls, "steps": steps}))
    if rank == COORDINATOR_RANK:
        node.say(summary(plan, time.monotonic() - began, printer.test, trainer, resumed))
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


def summary(plan: plan_pb2.PlanProto, seconds: float, test: dict[str, float],
            trainer: RankTrainer | None, resumed: int | None = None) -> str:
    """`singart: done: N steps (from step S) in T; test ...; last checkpoint ...`, as the single-process
    run says."""
    start = plan.job.step if resumed is None else resumed
    parts = [f"{max(0, plan.job.train_steps - start)} steps" + (f" (from step {start})" if resumed is not None
                                                                 else "") + f" in {duration(seconds)}"]
    if test:
        parts.append("test " + ", ".join(f"{k} = {v:.6g}" for k, v in test.items()))
    last = trainer.checkpoints.last if trainer is not None and trainer.checkpoints is not None else None
    if last is not None:
        parts.append(f"last checkpoint {last}")
    return "singart: done: " + "; ".join(parts)
