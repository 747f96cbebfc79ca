"""The training loop of SINGA's Worker::Run, in one process.

Each step: validation if due, test if due, checkpoint if due, TrainOneBatch, display if due; at
`train_steps` a final checkpoint, and the final test metrics.
"""
from __future__ import annotations

import math
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from singa_proto import job_pb2, plan_pb2
from singa_spec.plans import content_hash

from . import SingaError, cd, store  # noqa: F401 -- cd registers kCD
from .algorithms import make_algorithm
from .checkpoint import Checkpoints
from .data.shard import ShardError
from .events import EventWriter
from .finite import NonFinite, check_metrics, check_params, last_good
from .memory import check_fits
from .progress import Progress
from .worker import Background, WorkerGroup, kernel_threads, merge_metrics, set_kernel_threads
from .workspace import check_fresh_run, open_workspace

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
# called with (label, step, mean metrics) at each log line, as the line is printed: how a program that
# runs a plan in its own process reads the metrics as they arrive, without parsing text
MetricsHook = Callable[[str, int, dict[str, float]], None]


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
    """{name: sum / count}, passed through MEAN_TO_SHOWN where the name is there."""
    return {k: MEAN_TO_SHOWN.get(k, float)(s / c) for k, (s, c) in metrics.items() if c}


def _exp(x: float) -> float:
    return math.exp(x) if x < 709.0 else math.inf  # beyond that a double overflows (math.exp raises)


# metrics whose (sum, count) pairs merge like any other, but whose shown value is a function of the mean:
# perplexity is exp of the mean cross-entropy per character, not a mean of per-character values
MEAN_TO_SHOWN: dict[str, Callable[[float], float]] = {"ppl": _exp}


def evaluate(job: job_pb2.JobProto, group: WorkerGroup, what: str, step: int) -> dict[str, tuple[float, int]]:
    """Run `test_steps` (or `validate_steps`) batches of `group`'s net; their metric sums, checked finite."""
    _, steps_field, label = EVALS[what]
    group.metrics()  # drop anything accumulated outside this evaluation
    for i in range(getattr(job, steps_field)):
        group.run(i)
    metrics = group.metrics()
    check_metrics(step, metrics, label)
    return metrics


def record(events: EventWriter, label: str, step: int, metrics: dict[str, tuple[float, int]]) -> dict[str, float]:
    """Write the means of `metrics` at `step` to the event file as `Label/name`; the means."""
    means = averages(metrics)
    events.scalars(step, {f"{label}/{k}": v for k, v in means.items()})
    return means


def summary(job: job_pb2.JobProto, resumed: int | None, seconds: float, test: dict[str, float],
            last: Path | None) -> str:
    """`singart: done: N steps (from step S) in T; test loss = ...; last checkpoint W/checkpoint/step<N>-done`
    (`resumed`: the step a resumed run started from, else None)."""
    start = job.step if resumed is None else resumed
    parts = [f"{max(0, job.train_steps - start)} steps" + (f" (from step {start})" if resumed is not None else "")
             + f" in {duration(seconds)}"]
    if test:
        parts.append("test " + ", ".join(f"{k} = {v:.6g}" for k, v in test.items()))
    if last is not None:
        parts.append(f"last checkpoint {last}")
    return "singart: done: " + "; ".join(parts)


def find_graph(plan: plan_pb2.PlanProto, phase: int) -> plan_pb2.PhaseGraph | None:
    """The plan's graph for `phase` (None when the plan has none)."""
    return next((g for g in plan.graphs if g.phase == phase), None)


def eval_graph(plan: plan_pb2.PlanProto, what: str) -> plan_pb2.PhaseGraph | None:
    """The graph that evaluation `what` runs (None: the plan has none, or the job never runs it)."""
    phase, steps_field, _ = EVALS[what]
    job = plan.job
    wanted = getattr(job, steps_field) > 0 and (what == "test" or job.validate_freq > 0)
    return find_graph(plan, phase) if wanted else None


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


class StopRequested(Exception):
    """The caller's stop event was set: the run ended before the step it was about to begin."""


class Trainer:
    """Runs a plan's job: the train group, the evaluation nets, checkpoints, logs and event files."""

    def __init__(self, plan: plan_pb2.PlanProto, resume: bool = False, out: TextIO | None = None,
                 err: TextIO | None = None, overwrite: bool = False, keep: int | None = None,
                 on_metrics: MetricsHook | None = None, stop: threading.Event | None = None) -> None:
        self.plan, self.job = plan, plan.job
        self.on_metrics, self.stop = on_metrics, stop
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.began = time.monotonic()
        keep = checkpoint_keep(self.job, keep, resume, overwrite)
        graph = find_graph(plan, job_pb2.kTrain)
        if graph is None:
            raise SingaError(f"{plan.source or 'plan'}: the plan has no kTrain graph")
        self.store, self.updater = store.build(plan, graph)
        self.algorithm = make_algorithm(self.job.train_one_batch)
        # every net is built (shards opened, confs checked) before the workspace is touched, so that a
        # run refused here leaves no folder behind
        ngroups = max(1, self.job.cluster.nworker_groups)
        self.train = WorkerGroup(graph, self.store, self.job.seed, train=True, ngroups=ngroups,
                                 algorithm=self.algorithm)
        # groups 1.. of the process share group 0's params; other seeds give them other batches
        self.gate = Gate()
        siblings = [GatedGroup(self.gate, graph, self.store.sibling(plan, graph), self.job.seed + g,
                               train=True, ngroups=ngroups, algorithm=self.algorithm)
                    for g in range(1, ngroups)]
        self.evals = {what: self._eval_group(what) for what in EVALS}
        self.workspace = open_workspace(self.job.cluster.workspace)
        try:
            self.checkpoints = Checkpoints(self.workspace.checkpoints, self.store, self.updater, graph,
                                           plan.content_hash or content_hash(plan), keep, self.say)
            self.start, self.resumed = self._restore(resume, overwrite)
            self.events = EventWriter(self.workspace.events)
        except BaseException:
            self.workspace.discard()  # refused or failed before training: the workspace as it was
            raise
        self.others = [Background(group, self.start, self.job.train_steps, kernel_threads(ngroups))
                       for group in siblings]
        self.progress = Progress(self.start, self.job.train_steps, self.err)
        self.train_metrics: dict[str, tuple[float, int]] = {}
        self.written: list[int] = []  # the checkpoint steps this run wrote

    def say(self, line: str) -> None:
        """A line about the run (not a metric) on stderr."""
        print(line, file=self.err, flush=True)

    def _restore(self, resume: bool, overwrite: bool) -> tuple[int, bool]:
        """The first step: the newest checkpoint's when resuming, else the job's (after a warm start)."""
        if resume:
            step = self.checkpoints.resume()
            if step is not None:
                self.say(f"singart: resuming from step {step} ({self.checkpoints.folder})")
                return step, True
            self.say(f"singart: no checkpoint in {self.checkpoints.folder}; starting from step 0")
        elif overwrite:
            self.checkpoints.replace_old = True
        elif (finished := check_fresh_run(self.checkpoints.folder, self.checkpoints.plan,
                                          self.job.train_steps)) is not None:
            self.say(f"singart: starting over: the finished run's checkpoints of this plan (up to step "
                     f"{finished}) stay until this run writes its own")
        self.checkpoints.warm_start(self.job.checkpoint_path, self.job.step, self.job.reset_param_version)
        return self.job.step, False

    def _eval_group(self, what: str) -> WorkerGroup | None:
        graph = eval_graph(self.plan, what)
        if graph is None:
            return None
        return WorkerGroup(graph, self.store, self.job.seed, train=False, algorithm=self.algorithm)

    def run(self) -> dict[str, float]:
        """Train to `train_steps`; returns the final test metrics (empty without a test net)."""
        for other in self.others:
            other.start()
        try:
            metrics = self._loop()
        except BaseException:
            for other in self.others:
                other.join(stop=True)
            raise
        finally:
            self.progress.clear()
            self.close()
        self.say(self.summary(metrics))
        return metrics

    def summary(self, metrics: dict[str, float]) -> str:
        """The run's last line (see `summary`)."""
        start = self.start if self.resumed else None
        return summary(self.job, start, time.monotonic() - self.began, metrics, self.checkpoints.last)

    def _loop(self) -> dict[str, float]:
        try:
            return self._steps()
        except NonFinite as err:  # stop there, and say which checkpoint holds params still finite
            raise last_good(err, self.checkpoints.folder, self.written) from None

    def _steps(self) -> dict[str, float]:
        start, end = self.start, self.job.train_steps
        for step in range(start, end):
            if self.stop is not None and self.stop.is_set():
                raise StopRequested(f"stopped before step {step}")
            for what in EVALS:
                if due(self.job, what, step) and self.evals[what] is not None:
                    self.evaluate(what, step)
            if due(self.job, "checkpoint", step) and not (self.resumed and step == start):
                with self.gate.hold():  # the other groups pause between steps: no torn checkpoint
                    self._save(step)
            self.train.run(step)
            self._check_others(step)
            metrics = self.train.metrics()
            check_metrics(step, metrics, "Train")  # losses of layers the forward check does not know
            self.train_metrics = merge_metrics([self.train_metrics, metrics])
            if due(self.job, "display", step):
                self.report("Train", step, self.train_metrics)
                self.train_metrics = {}
            self.progress.update(step + 1)
        for other in self.others:
            other.join()  # the final params include every group's steps
        self._check_others(end)
        # resumed at or past train_steps (a finished run, or a plan with fewer steps): its step is saved
        # already; saving it again as step `end` would mislabel it, and pruning would then remove it
        if not (self.resumed and start >= end):
            self._save(end)
        return self.evaluate("test", max(start, end)) if self.evals["test"] is not None else {}

    def _check_others(self, step: int) -> None:
        """Re-raise a background group's error. A non-finite one is put at group 0's `step`, the step
        that numbers the checkpoints (the group's own step count runs apart, ahead or behind), so that
        the checkpoints withdrawn are those written since it was last checked, never older good ones."""
        for g, other in enumerate(self.others, start=1):
            try:
                other.check()
            except NonFinite as err:
                raise NonFinite(step, f"worker group {g} (at its step {err.step}): {err.detail}") from None

    def _save(self, step: int) -> None:
        """Write the checkpoint of `step`, unless a param went non-finite."""
        check_params(step, self.store.values)
        self.checkpoints.save(step)
        self.written.append(step)

    def evaluate(self, what: str, step: int) -> dict[str, float]:
        """Run `test_steps` (or `validate_steps`) batches of that net and log their mean metrics."""
        group = self.evals[what]
        assert group is not None
        return self.report(EVALS[what][2], step, evaluate(self.job, group, what, step))

    def report(self, label: str, step: int, metrics: dict[str, tuple[float, int]]) -> dict[str, float]:
        """Print one log line and record the metrics in the event file."""
        self.progress.clear()
        print(log_line(label, step, metrics), file=self.out, flush=True)
        means = record(self.events, label, step, metrics)
        if self.on_metrics is not None:
            self.on_metrics(label, step, dict(means))
        return means

    def close(self) -> None:
        """Stop the worker threads and close the event file."""
        for group in [self.train, *(o.group for o in self.others), *self.evals.values()]:
            if group is not None:
                group.close()
        self.events.close()
        self.workspace.release()


def checkpoint_keep(job: job_pb2.JobProto, keep: int | None, resume: bool, overwrite: bool) -> int:
    """How many checkpoint steps the run keeps: `--keep-checkpoints`, else the job's `checkpoint_keep`."""
    if resume and overwrite:
        raise SingaError("--resume and --overwrite: pick one (continue the checkpoints, or replace them)")
    value = job.checkpoint_keep if keep is None else keep
    if value < 0:
        what = "checkpoint_keep" if keep is None else "--keep-checkpoints"
        raise SingaError(f"{what}: {value}; give the number of checkpoint steps to keep (0: all of them)")
    return value


def duration(seconds: float) -> str:
    """`4.2 s`, `2 min 13 s`, `1 h 5 min`."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    return f"{minutes // 60} h {minutes % 60} min"


# numpy's warnings that a run's own non-finite checks replace (they stop it with one line naming the step)
NUMPY_NOISE = r"(overflow|invalid value|divide by zero) encountered"


def run_here(plan: plan_pb2.PlanProto, name: str, check_memory: bool = True, **options: Any) -> dict[str, float]:
    """Train a one-process plan in this process as `singart run` does (`options`: run_plan's): the memory
    check first, numpy's overflow warnings quiet, a data layer's error as one SingaError line."""
    if check_memory:
        check_fits(plan, name)  # before anything is allocated
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", NUMPY_NOISE, RuntimeWarning)
        try:
            return run_plan(plan, **options)
        except ShardError as err:  # the data layers' one-line errors name the layer and the shard
            raise SingaError(str(err)) from None


def run_plan(plan: plan_pb2.PlanProto, resume: bool = False, out: TextIO | None = None,
             err: TextIO | None = None, overwrite: bool = False, keep: int | None = None,
             on_metrics: MetricsHook | None = None, stop: threading.Event | None = None) -> dict[str, float]:
    """Train a loaded plan in this process; returns the final test metrics. `on_metrics` sees each
    log line's metrics as it is printed."""
    set_kernel_threads(kernel_threads(1))  # the main thread runs one-worker groups and evaluations
    return Trainer(plan, resume, out, err, overwrite, keep, on_metrics, stop).run()


