"""Run a job or plan: in this process, with its metrics as they arrive (a callback, or an iterator over
a run in a background thread), or by handing the plan file to the `singart run` command."""
from __future__ import annotations

import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TextIO, TypeAlias

from singa_proto import plan_pb2
from singa_spec import SingaError
from singa_spec.plans import read_plan
from singart.train import StopRequested, run_here

from .job import Job

Runnable: TypeAlias = Job | plan_pb2.PlanProto | str | Path  # a job, a compiled plan, or a plan file


class Metrics(NamedTuple):
    """One log line's metrics: phase is its label ("Train", "Validation", "Test")."""

    phase: str
    step: int
    values: dict[str, float]


@dataclass
class Summary:
    """What a finished run returns: the final test metrics (empty without a test net) and every line's."""

    test: dict[str, float]
    history: list[Metrics] = field(default_factory=list)


def _plan(what: Runnable) -> tuple[plan_pb2.PlanProto, str]:
    """The plan to run and how errors name it."""
    if isinstance(what, Job):
        return what.compile(), what.source
    if isinstance(what, plan_pb2.PlanProto):
        return what, what.source or "plan"
    return read_plan(what), str(what)


def run(what: Runnable, on_metrics: Callable[[Metrics], Any] | None = None, *, resume: bool = False,
        overwrite: bool = False, keep: int | None = None, out: TextIO | None = None,
        err: TextIO | None = None, check_memory: bool = True, stop: threading.Event | None = None) -> Summary:
    """Train in this process as `singart run` does (its log lines go to `out`, default stdout), calling
    `on_metrics` with each line's metrics as it is printed. Once `stop` is set, the run ends before its
    next step (singart.train.StopRequested; its checkpoints stay, as after Ctrl-C). A plan of several
    processes goes to `launch` instead."""
    plan, source = _plan(what)
    if plan.topology.nprocs > 1:
        raise SingaError(f"{source}: the plan runs as {plan.topology.nprocs} processes; write it with "
                         "compile(path) and hand the file to singa.launch(path)")
    history: list[Metrics] = []

    def hook(phase: str, step: int, values: dict[str, float]) -> None:
        history.append(Metrics(phase, step, values))
        if on_metrics is not None:
            on_metrics(history[-1])

    test = run_here(plan, source, check_memory, resume=resume, out=out, err=err, overwrite=overwrite, keep=keep,
                    on_metrics=hook, stop=stop)
    return Summary(test, history)


class Run:
    """Iterate over a run's metrics as they arrive (`for phase, step, values in Run(job): ...`); the
    training runs in a background thread; `summary` is set once the loop ends. Leaving the loop early
    stops the training before its next step (its checkpoints stay, as after Ctrl-C)."""

    def __init__(self, what: Runnable, **options: Any) -> None:
        self.what, self.options = what, options
        self.summary: Summary | None = None
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()

    def __iter__(self) -> Iterator[Metrics]:
        thread = threading.Thread(target=self._train, name="singa-run", daemon=True)
        thread.start()
        try:
            while True:
                kind, item = self._queue.get()
                if kind == "metrics":
                    yield item
                elif kind == "error":
                    raise item
                else:
                    self.summary = item
                    return
        finally:
            self._stop.set()
            thread.join()

    def _train(self) -> None:
        try:
            summary = run(self.what, self._put, stop=self._stop, **self.options)
        except StopRequested:
            return
        except BaseException as error:  # noqa: BLE001 -- handed to the reader's thread, raised there
            self._queue.put(("error", error))
            return
        self._queue.put(("done", summary))

    def _put(self, metrics: Metrics) -> None:
        self._queue.put(("metrics", metrics))


def launch(plan_path: str | Path, *flags: str, **popen: Any) -> subprocess.CompletedProcess:
    """Hand a plan file to the `singart run` command (flags as on its command line: "--resume",
    "--hosts", FILE, ...); its output goes where this process's goes, unless `popen` (subprocess.run's
    keywords, e.g. capture_output=True, text=True) says otherwise."""
    script = Path(sys.executable).with_name("singart")  # the console script installed beside Python
    command = [str(script)] if script.exists() else [sys.executable, "-m", "singart.cli"]
    return subprocess.run([*command, "run", str(plan_path), *flags], check=False, **popen)
