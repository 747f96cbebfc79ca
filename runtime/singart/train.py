"""The training loop of SINGA's Worker::Run, in one process.

Each step: validation if due, test if due, checkpoint if due, TrainOneBatch, display if due; at
`train_steps` a final checkpoint, and the final test metrics.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from singa_proto import job_pb2, plan_pb2

from . import SingaError, store
from .checkpoint import Checkpoints, newest_written
from .events import EventWriter
from .finite import NonFinite, check_metrics, check_params, last_good
from .progress import Progress
from .worker import Background, WorkerGroup, kernel_threads, merge_metrics, set_kernel_threads

# what -> (frequency field, offset field) of JobProto
FREQUENCIES = {
    "validate": ("validate_freq", "validate_after"),
    "test": ("test_freq", "test_after"),
    "checkpoint": ("checkpoint_freq", "checkpoint_after"),
    "display": ("disp_freq", "disp_after"),
}
# the evaluation phases: their graph's phase, steps field and log label
EVALS = {
    "validate": (job_pb2.kVal, "validate_steps", "Validation"),
    "test": (job_pb2.kTest, "test_steps", "Test"),
}


def due(job: job_pb2.JobProto, what: str, step: int) -> bool:
    """Whether `what` runs at `step`: freq > 0, step >= after and (step - after) % freq == 0."""
    freq_field, after_field = FREQUENCIES[what]
    freq, after = getattr(job, freq_field), getattr(job, after_field)
    if what in EVALS and getattr(job, EVALS[what][1]) <= 0:
        return False
    return freq > 0 and step >= after and (step - after) % freq == 0


def log_line(label: str, step: int, metrics: dict[str, tuple[float, int]]) -> str:
    """`Train @ step N: loss = 0.123, accuracy = 0.97` (metrics averaged over their counts)."""
    means = averages(metrics)
    return f"{label} @ step {step}: " + ", ".join(f"{k} = {v:.6g}" for k, v in means.items())


def averages(metrics: dict[str, tuple[float, int]]) -> dict[str, float]:
    """{name: sum / count}."""
    return {k: s / c for k, (s, c) in metrics.items() if c}


def prepare_workspace(job: job_pb2.JobProto) -> Path:
    """The job's workspace with its checkpoint/ and events/ folders, checked to be writable."""
    workspace = Path(job.cluster.workspace or ".")
    for sub in ("checkpoint", "events"):
        folder = workspace / sub
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise SingaError(f"cluster.workspace {workspace}: cannot write {folder}: "
                             f"{err.strerror or err}") from None
    return workspace


def find_graph(plan: plan_pb2.PlanProto, phase: int) -> plan_pb2.PhaseGraph | None:
    """The plan's graph for `phase` (None when the plan has none)."""
    return next((g for g in plan.graphs if g.phase == phase), None)


class Gate:
    """Lets the main thread hold the background groups between two of their steps (while it writes a
    checkpoint, so that no update is half applied and the updater's history does not change under it)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held = False
        self._running = 0

    @contextmanager
    def step(self) -> Iterator[None]:
        """Around one background step: waits while the gate is held."""
        with self._cond:
            self._cond.wait_for(lambda: not self._held)
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Wait for the running background steps to finish and keep new ones from starting."""
        try:  # an interrupt while waiting must release the gate too, or the groups never stop
            with self._cond:
                self._held = True
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._running == 0)
            yield
        finally:
            with self._cond:
                self._held = False
                self._cond.notify_all()


class GatedGroup(WorkerGroup):
    """A background worker group whose steps pass through a `Gate`."""

    def __init__(self, gate: Gate, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = gate

    def run(self, step: int) -> None:
        """One step, once the gate lets it start."""
        with self.gate.step():
            super().run(step)


class Trainer:
    """Runs a plan's job: the train group, the evaluation nets, checkpoints, logs and event files."""

    def __init__(self, plan: plan_pb2.PlanProto, resume: bool = False, out: TextIO | None = None,
                 err: TextIO | None = None) -> None:
        self.plan, self.job = plan, plan.job
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.workspace = prepare_workspace(self.job)
        graph = find_graph(plan, job_pb2.kTrain)
        if graph is None:
            raise SingaError(f"{plan.source or 'plan'}: the plan has no kTrain graph")
        self.store, self.updater = store.build(plan, graph)
        self.checkpoints = Checkpoints(self.workspace / "checkpoint", self.store, self.updater, graph)
        self.start, self.resumed = self._restore(resume)
        # every net is built (shards opened, confs checked) before the first checkpoint is written
        ngroups = max(1, self.job.cluster.nworker_groups)
        self.train = WorkerGroup(graph, self.store, self.job.seed, train=True, ngroups=ngroups)
        # groups 1.. of the process share group 0's params; other seeds give them other batches
        self.gate = Gate()
        self.others = [Background(GatedGroup(self.gate, graph, self.store.sibling(plan, graph),
                                             self.job.seed + g, train=True, ngroups=ngroups),
                                  self.start, self.job.train_steps, kernel_threads(ngroups))
                       for g in range(1, ngroups)]
        self.evals = {what: self._eval_group(what) for what in EVALS}
        self.events = EventWriter(self.workspace / "events")
        self.progress = Progress(self.start, self.job.train_steps, self.err)
        self.train_metrics: dict[str, tuple[float, int]] = {}
        self.written: list[int] = []  # the checkpoint steps this run wrote

    def _restore(self, resume: bool) -> tuple[int, bool]:
        """The first step: the newest checkpoint's when resuming, else the job's (after a warm start)."""
        if resume:
            step = self.checkpoints.resume()
            newest = newest_written(self.checkpoints.folder)
            if newest is not None and (step is None or newest > step):
                print(f"singart: checkpoint step {newest} is incomplete (no step{newest}-done); "
                      f"{'resuming from step ' + str(step) if step is not None else 'none to resume'}",
                      file=self.err)
            if step is not None:
                return step, True
            print(f"singart: no checkpoint in {self.workspace / 'checkpoint'}; starting from step 0",
                  file=self.err)
        self.checkpoints.warm_start(self.job.checkpoint_path, self.job.step, self.job.reset_param_version)
        return self.job.step, False

    def _eval_group(self, what: str) -> WorkerGroup | None:
        phase, steps_field, _ = EVALS[what]
        graph = find_graph(self.plan, phase)
        wanted = getattr(self.job, steps_field) > 0 and (what == "test" or self.job.validate_freq > 0)
        if graph is None or not wanted:
            return None
        return WorkerGroup(graph, self.store, self.job.seed, train=False)

    def run(self) -> dict[str, float]:
        """Train to `train_steps`; returns the final test metrics (empty without a test net)."""
        for other in self.others:
            other.start()
        try:
            return self._loop()
        except BaseException:
            for other in self.others:
                other.join(stop=True)
            raise
        finally:
            self.progress.clear()
            self.close()

    def _loop(self) -> dict[str, float]:
        try:
            return self._steps()
        except NonFinite as err:  # stop there, and say which checkpoint holds params still finite
            raise last_good(err, self.checkpoints.folder, self.written) from None

    def _steps(self) -> dict[str, float]:
        start, end = self.start, self.job.train_steps
        for step in range(start, end):
            for what in EVALS:
                if due(self.job, what, step) and self.evals[what] is not None:
                    self.evaluate(what, step)
            if due(self.job, "checkpoint", step) and not (self.resumed and step == start):
                with self.gate.hold():  # the other groups pause between steps: no torn checkpoint
                    self._save(step)
            self.train.run(step)
            for other in self.others:
                other.check()
            metrics = self.train.metrics()
            check_metrics(step, metrics, "Train")  # losses of layers the forward check does not know
            self.train_metrics = merge_metrics([self.train_metrics, metrics])
            if due(self.job, "display", step):
                self.report("Train", step, self.train_metrics)
                self.train_metrics = {}
            self.progress.update(step + 1)
        for other in self.others:
            other.join()  # the final params include every group's steps
        self._save(end)
        return self.evaluate("test", end) if self.evals["test"] is not None else {}

    def _save(self, step: int) -> None:
        """Write the checkpoint of `step`, unless a param went non-finite."""
        check_params(step, self.store.values)
        self.checkpoints.save(step)
        self.written.append(step)

    def evaluate(self, what: str, step: int) -> dict[str, float]:
        """Run `test_steps` (or `validate_steps`) batches of that net and log their mean metrics."""
        group = self.evals[what]
        assert group is not None
        _, steps_field, label = EVALS[what]
        group.metrics()  # drop anything accumulated outside this evaluation
        for i in range(getattr(self.job, steps_field)):
            group.run(i)
        metrics = group.metrics()
        check_metrics(step, metrics, label)
        return self.report(label, step, metrics)

    def report(self, label: str, step: int, metrics: dict[str, tuple[float, int]]) -> dict[str, float]:
        """Print one log line and record the metrics in the event file."""
        self.progress.clear()
        print(log_line(label, step, metrics), file=self.out, flush=True)
        means = averages(metrics)
        self.events.scalars(step, {f"{label}/{k}": v for k, v in means.items()})
        return means

    def close(self) -> None:
        """Stop the worker threads and close the event file."""
        for group in [self.train, *(o.group for o in self.others), *self.evals.values()]:
            if group is not None:
                group.close()
        self.events.close()


def run_plan(plan: plan_pb2.PlanProto, resume: bool = False, out: TextIO | None = None,
             err: TextIO | None = None) -> dict[str, float]:
    """Train a loaded plan in this process; returns the final test metrics."""
    if plan.job.train_one_batch.alg not in (job_pb2.kBP,):
        name = job_pb2.AlgType.Name(plan.job.train_one_batch.alg)
        raise SingaError(f"train_one_batch: {name} is not supported by this runtime yet (kBP is)")
    set_kernel_threads(kernel_threads(1))  # the main thread runs one-worker groups and evaluations
    return Trainer(plan, resume, out, err).run()


