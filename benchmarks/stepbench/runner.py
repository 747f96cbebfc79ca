"""The parent: the tasks of a round, each child's environment and process, the rounds, an ETA."""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .nets import bench_job, variants_for, write_text_job
from .report import Raw, compile_seconds, median_ms

BIN = Path(sys.executable).parent
# The children re-execute the entry point with --child: it is what puts this package on sys.path.
SCRIPT = Path(__file__).resolve().parents[1] / "step_vs_torch.py"


@dataclass
class Task:
    """One process of a round."""

    kind: str            # group | torch | run | peak (and check, before the rounds)
    net: str = ""
    threads: int = 1     # kernel threads per worker
    workers: int = 1
    variant: str = ""
    steps: int = 0       # train_steps of a `run` task

    @property
    def key(self) -> tuple:
        return (self.kind, self.net, self.threads, self.workers, self.variant, self.steps)

    @property
    def cores(self) -> int:
        return self.threads * self.workers

    def label(self) -> str:
        """What the progress line calls this task."""
        what = {"group": f"singart group step {self.workers}x{self.threads}",
                "torch": f"torch {self.variant} {self.threads} thr",
                "run": f"singart run {self.threads} thr, {self.steps} steps",
                "peak": f"sgemm peak {self.threads} thr"}[self.kind]
        return f"{self.net} {what}".strip()


def child_env(base: dict[str, str], task: Task, folder: Path) -> dict[str, str]:
    """The child's whole environment: `base` (the parent's, without OMP_WAIT_POLICY unless given on
    the command line) and OMP_NUM_THREADS; PyTorch's inductor cache in this run's folder."""
    env = {**base, "OMP_NUM_THREADS": str(task.cores)}
    if task.kind == "torch":
        env["TORCHINDUCTOR_CACHE_DIR"] = str(folder / "inductor-cache")
    return env


class Runner:
    """Runs tasks as processes, with the job files and plans of this run in `folder`."""

    def __init__(self, args: argparse.Namespace, base_env: dict[str, str], folder: Path) -> None:
        self.args, self.base_env, self.folder = args, base_env, folder
        self.jobs: dict[tuple[str, int], str] = {}      # (net, workers) -> job file of the group step
        self.plans: dict[tuple[str, int], Path] = {}    # (net, train_steps) -> plan of `singart run`

    def prepare(self) -> None:
        """Synthetic shards, the job files, the plans `singart run` runs (compiled with `singac`)."""
        for net in self.args.nets:
            for workers in {1, self.args.workers}:
                job = bench_job(net, self.folder, workers, 1, self.folder / "ws-group")
                self.jobs[net, workers] = write_text_job(job, self.folder / f"{net}-w{workers}.pbtxt")
            self.plans[net, -1] = compile_plan(self.jobs[net, 1], self.folder / f"{net}.plan")
            for n in self.args.run_steps if self.args.run_steps[1] else ():
                job = bench_job(net, self.folder, 1, n, self.folder / f"ws-{net}-{n}")
                text = write_text_job(job, self.folder / f"{net}-{n}.pbtxt")
                self.plans[net, n] = compile_plan(text, self.folder / f"{net}-{n}.plan")

    def run(self, task: Task) -> dict[str, Any]:
        """One process; its JSON result (or {'error': ...})."""
        env = child_env(self.base_env, task, self.folder)
        if task.kind == "run":
            return self.singart_run(task, env)
        try:
            done = subprocess.run([sys.executable, str(SCRIPT), "--child", json.dumps(self.child_spec(task))],
                                  env=env, capture_output=True, text=True, check=False, timeout=self.args.timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {self.args.timeout} s"}
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode or not lines:
            return {"error": last_line(done.stderr) or f"exit code {done.returncode}"}
        return json.loads(lines[-1])

    def singart_run(self, task: Task, env: dict[str, str]) -> dict[str, Any]:
        """`singart run` of the task's plan as a whole process, timed from outside."""
        plan = self.plans[task.net, task.steps]
        shutil.rmtree(self.folder / f"ws-{task.net}-{task.steps}", ignore_errors=True)
        t = time.perf_counter()
        try:
            done = subprocess.run([*console("singart"), "run", str(plan)], env=env, capture_output=True,
                                  text=True, check=False, timeout=self.args.timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {self.args.timeout} s"}
        seconds = time.perf_counter() - t
        if done.returncode:
            return {"error": last_line(done.stderr)}
        return {"seconds": seconds}

    def child_spec(self, task: Task) -> dict[str, Any]:
        """What the child measures, as `--child` takes it."""
        spec: dict[str, Any] = {"kind": task.kind, "net": task.net, "threads": task.threads,
                                "warmup": self.args.warmup, "steps": self.args.steps}
        if task.kind == "group":
            spec["job"] = self.jobs[task.net, task.workers]
        elif task.kind == "torch":
            spec["variant"] = task.variant
        elif task.kind == "check":
            spec["plan"] = str(self.plans[task.net, -1])
        return spec


def compile_plan(job: str, plan: Path) -> Path:
    """`singac compile job -o plan`."""
    done = subprocess.run([*console("singac"), "compile", job, "-o", str(plan)], capture_output=True,
                          text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{job}: singac compile failed: {done.stderr.strip()}")
    return plan


def console(name: str) -> list[str]:
    """The command of this installation's console script `name`."""
    path = BIN / name
    return [str(path)] if path.exists() else [sys.executable, "-m", f"{name}.cli"]


def last_line(text: str) -> str:
    """The last non-empty line of `text`, at most 300 characters."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


# --- the rounds ------------------------------------------------------------------------------------
def round_tasks(args: argparse.Namespace) -> list[Task]:
    """Every process of one round, singart and the PyTorch variants alternating."""
    w = args.workers
    extra = [w] if w > 1 and w not in args.threads else []  # table 2 compares with 1 worker x w threads
    tasks = [Task("peak", threads=t) for t in args.threads + extra]
    for net in args.nets:
        for t in args.threads:
            tasks.append(Task("group", net, t))
            tasks += [Task("torch", net, t, variant=v) for v in variants_for(net, args.variants)]
            tasks += [Task("run", net, t, steps=n) for n in args.run_steps if args.run_steps[1]]
        tasks += [Task("group", net, t) for t in extra]
        if w > 1:
            tasks.append(Task("group", net, 1, w))
    return tasks


def run_order(args: argparse.Namespace) -> list[tuple[int, Task]]:
    """(round, task) of every process in the order they run: every other round reversed."""
    rounds = [round_tasks(args) for _ in range(args.rounds)]
    return [(i, t) for i, r in enumerate(rounds) for t in (r if i % 2 == 0 else r[::-1])]


def measure(args: argparse.Namespace, base_env: dict[str, str]) -> Raw:
    """Prepare the jobs, check the twins, run the rounds: each configuration's results in run order."""
    with tempfile.TemporaryDirectory(prefix="step-vs-torch-") as tmp:
        runner = Runner(args, base_env, Path(tmp))
        runner.prepare()
        for net in args.nets:  # the twins must match the compiled plans before anything is timed
            got = runner.run(Task("check", net))
            if "error" in got:
                raise SystemExit(got["error"])
        return run_queue(runner, run_order(args))


def run_queue(runner: Runner, queue: list[tuple[int, Task]]) -> Raw:
    """Run every task of `queue`, a progress line on stderr for each."""
    raw: Raw = {}
    eta = Eta()
    for n, (i, task) in enumerate(queue, 1):
        t0 = time.perf_counter()
        result = runner.run(task)
        eta.done(task, time.perf_counter() - t0)
        raw.setdefault(task.key, []).append(result)
        print(f"[{n}/{len(queue)}] round {i + 1}: {task.label()}: {progress_note(task, result)} "
              f"({time.perf_counter() - t0:.0f} s); elapsed {clock(eta.elapsed())}, "
              f"ETA {clock(eta.left([t for _, t in queue[n:]]))}", file=sys.stderr, flush=True)
    return raw


class Eta:
    """Elapsed time and an estimate of what is left, from the same task's earlier rounds."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.took: dict[tuple, list[float]] = {}

    def done(self, task: Task, seconds: float) -> None:
        self.took.setdefault(task.key, []).append(seconds)

    def left(self, tasks: list[Task]) -> float:
        """Seconds `tasks` should take: each its own mean so far, else the mean of everything so far."""
        everything = [s for v in self.took.values() for s in v]
        mean = statistics.fmean(everything) if everything else 0.0
        return sum(statistics.fmean(self.took[t.key]) if t.key in self.took else mean for t in tasks)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def clock(seconds: float) -> str:
    """h:mm:ss."""
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def progress_note(task: Task, result: dict[str, Any]) -> str:
    """A finished process's result, in a few words."""
    if "error" in result:
        return f"FAILED: {result['error']}"
    if task.kind == "peak":
        return ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in result["gflops"].items())
    if task.kind == "run":
        return f"{result['seconds']:.1f} s"
    note = f"{median_ms(result):.1f} ms/step"
    if task.variant.startswith("compile"):
        note += f", compile {compile_seconds(result):.1f} s"
    return note
