"""Milliseconds per training step of singart next to PyTorch CPU: same nets, batches, threads and updater.

    python benchmarks/step_vs_torch.py [--nets ...] [--threads 1 2] [--rounds 3] [--steps 30]

Every measurement is its own process: a child measures ONE framework variant at ONE thread count on
ONE net and prints its per-step times as JSON. The parent runs the children round by round (in each
round every configuration once, singart and the PyTorch variants alternating; every other round in
reverse order) and reports, per configuration, the median of the per-process medians and their range.

singart: the worker group's step alone (the job compiled in memory, what `singart run` runs each step:
read the shard, parse, forward, backward, update), at 1 worker x 1 thread, 1 x 2 and 2 workers x 1
thread (batch partitioning, one process); and what a user sees: `singart run` as a whole process at
two train_steps, (t2 - t1) / (N2 - N1) ms a step. PyTorch, each variant with PyTorch's own defaults
(no OpenMP setting of ours): eager, eager with foreach or fused SGD, channels_last (convnets) and
torch.compile (its compile time reported apart), each step including the batch's preparation from
uint8 records. The MLP's achieved GFLOP/s is set against singart's measured sgemm peak.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RECORDS = 2048  # records in each synthetic shard: the readers wrap around it


@dataclass(frozen=True)
class Net:
    job: str                      # the example job file, relative to the repository root
    batch: int
    record: tuple[int, ...]       # the shape of one uint8 record
    conv: bool                    # a convnet (channels_last applies)


NETS: dict[str, Net] = {
    "mnist-mlp": Net("examples/mnist/job.pbtxt", 64, (28, 28), False),
    "lenet": Net("examples/mnist/lenet.pbtxt", 64, (28, 28), True),
    "cifar10-singa": Net("examples/cifar10/job.pbtxt", 100, (3, 32, 32), True),
    "cifar10-quick": Net("examples/cifar10/quick.pbtxt", 100, (3, 32, 32), True),
}


@dataclass(frozen=True)
class Variant:
    """A way a user would run the PyTorch net on CPU."""

    optimizer: dict[str, bool] = field(default_factory=dict)  # extra torch.optim.SGD arguments
    channels_last: bool = False                               # model and input (convnets only)
    compile: bool = False                                     # torch.compile, default backend


VARIANTS: dict[str, Variant] = {
    "eager": Variant(),
    "eager+foreach": Variant(optimizer={"foreach": True}),
    "eager+fused": Variant(optimizer={"fused": True}),
    "channels_last+fused": Variant(optimizer={"fused": True}, channels_last=True),
    "compile+fused": Variant(optimizer={"fused": True}, compile=True),
}


# --- the jobs --------------------------------------------------------------------------------------
def read_job(path: Path):  # -> JobProto
    from google.protobuf import text_format
    from singa_proto import job_pb2

    return text_format.Parse(path.read_text(), job_pb2.JobProto())


def bench_job(net: str, folder: Path, workers: int, train_steps: int, workspace: Path):  # -> JobProto
    """The example job of `net` with the benchmark's batch, a synthetic shard and no test phase."""
    from singa_proto import job_pb2

    spec = NETS[net]
    job = read_job(ROOT / spec.job)
    job.train_steps = train_steps
    job.test_steps = job.validate_steps = 0
    job.cluster.nworkers_per_group = workers
    job.cluster.workspace = str(workspace)
    for layer in job.neuralnet.layer:
        if layer.type == job_pb2.kShardData:
            layer.sharddata_conf.batchsize = spec.batch
            layer.sharddata_conf.path = synthetic_shard(folder, spec.record)
            layer.sharddata_conf.random_skip = 0
        if layer.type == job_pb2.kRGBImage and layer.rgbimage_conf.meanfile:
            layer.rgbimage_conf.meanfile = mean_file(folder, spec.record)
    return job


def synthetic_records(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """RECORDS random uint8 records of `shape` and labels 0..9 (the same in every process)."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (RECORDS, *shape), dtype=np.uint8), rng.integers(0, 10, RECORDS)


def synthetic_shard(folder: Path, shape: tuple[int, ...]) -> str:
    from singart.data.convert import write_image_shard

    path = folder / ("shard-" + "x".join(map(str, shape)))
    if not path.exists():
        write_image_shard(str(path), *synthetic_records(shape), interval=1e9)
    return str(path)


def mean_file(folder: Path, shape: tuple[int, ...]) -> str:
    from singart.data.convert import write_mean_image

    path = folder / ("mean-" + "x".join(map(str, shape)) + ".bin")
    if not path.exists():
        write_mean_image(str(path), synthetic_records(shape)[0])
    return str(path)


def write_text_job(job, path: Path) -> str:  # job: JobProto
    from google.protobuf import text_format

    path.write_text(text_format.MessageToString(job))
    return str(path)


def mlp_gflop(net: str) -> float:
    """GFLOP of one training step of an inner-product chain: forward 2 B sum(in*out), backward twice
    that, less the first layer's input gradient (nothing needs it; singart skips it, autograd too)."""
    from singa_proto import job_pb2

    spec, job = NETS[net], read_job(ROOT / NETS[net].job)
    sizes = [math.prod(spec.record)] + [la.innerproduct_conf.num_output for la in job.neuralnet.layer
                                        if la.type == job_pb2.kInnerProduct]
    forward = 2 * spec.batch * sum(a * b for a, b in itertools.pairwise(sizes))
    return (3 * forward - 2 * spec.batch * sizes[0] * sizes[1]) / 1e9


# --- singart (children) ----------------------------------------------------------------------------
def singart_train_step(job_path: str, threads: int) -> Callable[[int], None]:
    """One training step of a job file's worker group, as `singart run` runs it between its logs.

    The one place that uses singart's internal API (compile_job/Source, store.build, WorkerGroup,
    find_graph): when a refactor renames them, only this function changes."""
    import singac
    from singa_proto import job_pb2
    from singac.source import Source
    from singart import ops, store
    from singart.train import find_graph
    from singart.worker import WorkerGroup

    text = Path(job_path).read_text()
    plan = singac.compile_job(read_job(Path(job_path)), Source(job_path, text))
    graph = find_graph(plan, job_pb2.kTrain)
    values, _ = store.build(plan, graph)
    ops.set_num_threads(threads)  # this thread's kernels (run_plan does the same); workers set their own
    return WorkerGroup(graph, values, plan.job.seed, train=True).run


def sgemm_gflops(threads: int) -> dict[str, float]:
    """singart's sgemm (ops.gemm) GFLOP/s, best of several runs: 1024^3, and the MLP's largest GEMM
    (fc2 forward at batch 64: 64 x 2500 times 2500 x 2000)."""
    from singart import ops

    ops.set_num_threads(threads)
    rng = np.random.default_rng(0)
    out = {}
    for name, (m, k, n) in {"1024^3": (1024, 1024, 1024), "mlp-fc2": (64, 2500, 2000)}.items():
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((n, k), dtype=np.float32)
        c = np.empty((m, n), np.float32)
        best = math.inf
        deadline = time.perf_counter() + 2.0
        for i in range(200):
            t = time.perf_counter()
            ops.gemm(a, b, c, trans_b=True)
            best = min(best, time.perf_counter() - t)
            if i >= 5 and time.perf_counter() > deadline:
                break
        out[name] = 2 * m * n * k / best / 1e9
    return out


# --- PyTorch (children) ----------------------------------------------------------------------------
def torch_model(net: str):  # -> nn.Sequential, its layers named as the job's
    """The example net in PyTorch, layer for layer (SINGA's pooling: no padding, floor)."""
    from collections import OrderedDict

    import torch
    from torch import nn

    class STanh(nn.Module):
        """SINGA's scaled tanh, 1.7159 tanh(2x/3)."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 1.7159 * torch.tanh(x * (2.0 / 3.0))

    def lrn() -> nn.Module:  # kLRN local_size 3, alpha 5e-5, beta 0.75, knorm 1
        return nn.LocalResponseNorm(3, alpha=5e-5, beta=0.75, k=1.0)

    def conv(cin: int, cout: int, pad: int) -> nn.Module:
        return nn.Conv2d(cin, cout, 5, padding=pad)

    if net == "mnist-mlp":
        sizes = [784, 2500, 2000, 1500, 1000, 500, 10]
        layers: list[tuple[str, nn.Module]] = [("flat", nn.Flatten())]
        for i, (a, b) in enumerate(itertools.pairwise(sizes), 1):
            layers.append((f"fc{i}", nn.Linear(a, b)))
            if i < len(sizes) - 1:
                layers.append((f"tanh{i}", STanh()))
    elif net == "lenet":
        layers = [("conv1", conv(1, 20, 0)), ("pool1", nn.MaxPool2d(2, 2)), ("conv2", conv(20, 50, 0)),
                  ("pool2", nn.MaxPool2d(2, 2)), ("flat", nn.Flatten()), ("ip1", nn.Linear(800, 500)),
                  ("relu1", nn.ReLU()), ("ip2", nn.Linear(500, 10))]
    elif net == "cifar10-singa":
        layers = [("conv1", conv(3, 32, 2)), ("pool1", nn.MaxPool2d(3, 2)), ("relu1", nn.ReLU()),
                  ("norm1", lrn()), ("conv2", conv(32, 32, 2)), ("relu2", nn.ReLU()),
                  ("pool2", nn.AvgPool2d(3, 2)), ("norm2", lrn()), ("conv3", conv(32, 64, 2)),
                  ("relu3", nn.ReLU()), ("pool3", nn.AvgPool2d(3, 2)), ("flat", nn.Flatten()),
                  ("ip1", nn.Linear(576, 10))]
    elif net == "cifar10-quick":
        layers = [("conv1", conv(3, 32, 2)), ("pool1", nn.MaxPool2d(3, 2)), ("relu1", nn.ReLU()),
                  ("conv2", conv(32, 32, 2)), ("relu2", nn.ReLU()), ("pool2", nn.AvgPool2d(3, 2)),
                  ("conv3", conv(32, 64, 2)), ("relu3", nn.ReLU()), ("pool3", nn.AvgPool2d(3, 2)),
                  ("flat", nn.Flatten()), ("ip1", nn.Linear(576, 64)), ("ip2", nn.Linear(64, 10))]
    else:
        raise ValueError(f"no PyTorch twin for {net}")
    return nn.Sequential(OrderedDict(layers))


def param_groups(model, job) -> list[dict[str, Any]]:
    """torch.optim.SGD param groups with the job's updater: lr, momentum, weight decay, and each
    param's lr_scale and wd_scale (the schedule is left out: a constant lr costs the same)."""
    from singa_proto import job_pb2

    u = job.updater
    lr = (u.learning_rate.fixedstep_conf.step_lr[0] if u.learning_rate.type == job_pb2.kFixedStep
          else u.learning_rate.base_lr)
    groups: dict[tuple[float, float], list] = {}
    for layer in job.neuralnet.layer:
        if layer.param:
            module = model.get_submodule(layer.name)
            for conf, p in zip(layer.param, (module.weight, module.bias), strict=True):
                groups.setdefault((conf.lr_scale, conf.wd_scale), []).append(p)
    return [{"params": ps, "lr": lr * ls, "weight_decay": u.weight_decay * ws, "momentum": u.momentum}
            for (ls, ws), ps in groups.items()]


def check_twin(net: str, plan_path: str) -> None:
    """Fail unless the PyTorch twin has the plan's layers: each named layer's output shape and each
    param's size as the compiled plan has them, every torch param in exactly one group."""
    import singac
    import torch
    from singa_proto import job_pb2

    plan = singac.read_plan(plan_path)
    graph = next(g for g in plan.graphs if g.phase == job_pb2.kTrain)
    shapes = {n.name: list(n.shape)[1:] for n in graph.nodes}
    params = {e.name: math.prod(e.shape) for e in plan.params}
    model, spec = torch_model(net), NETS[net]
    seen: dict[str, list[int]] = {}
    for name, module in model.named_children():
        module.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, list(o.shape)[1:]))
    channels = 1 if len(spec.record) == 2 else spec.record[0]
    model(torch.zeros(2, channels, *spec.record[-2:]))
    problems = [f"{name}: torch {shape}, plan {shapes[name]}" for name, shape in seen.items()
                if name in shapes and shapes[name] != shape]
    layers = [la for la in plan.job.neuralnet.layer if la.param]
    missing = {la.name for la in layers} - set(seen)
    problems += [f"{name}: no torch layer" for name in sorted(missing)]
    for la in layers:
        if la.name in seen:
            module = model.get_submodule(la.name)
            for conf, p in zip(la.param, (module.weight, module.bias), strict=True):
                if p.numel() != params[conf.name]:
                    problems.append(f"{conf.name}: torch {p.numel()} values, plan {params[conf.name]}")
    grouped = sum(len(g["params"]) for g in param_groups(model, plan.job))
    if grouped != len(list(model.parameters())):
        problems.append(f"{grouped} of {len(list(model.parameters()))} torch params in the updater's groups")
    if problems:
        raise SystemExit(f"{net}: the PyTorch twin does not match the plan: " + "; ".join(problems))


def torch_train_step(net: str, variant: Variant, threads: int) -> Callable[[int], None]:
    """One PyTorch training step, the batch cut from uint8 records and scaled as the job's parser does."""
    import torch
    from singa_proto import job_pb2

    torch.set_num_threads(threads)
    spec, job = NETS[net], read_job(ROOT / NETS[net].job)
    images_np, labels_np = synthetic_records(spec.record)
    images, labels = torch.from_numpy(images_np), torch.from_numpy(labels_np)
    parser = next(la for la in job.neuralnet.layer if la.type in (job_pb2.kMnist, job_pb2.kRGBImage))
    if parser.type == job_pb2.kMnist:
        a, b = parser.mnist_conf.norm_a, parser.mnist_conf.norm_b

        def prepare(x: torch.Tensor) -> torch.Tensor:
            return x.float().div_(a).sub_(b)
    else:
        mean, scale = torch.from_numpy(images_np.mean(0, dtype=np.float32)), parser.rgbimage_conf.scale

        def prepare(x: torch.Tensor) -> torch.Tensor:
            return x.float().sub_(mean).mul_(scale)

    model = torch_model(net)
    fmt = torch.channels_last if variant.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(param_groups(model, job), lr=0.0, **variant.optimizer)
    if variant.compile:
        model = torch.compile(model)
    loss_fn = torch.nn.CrossEntropyLoss()
    batch = spec.batch
    shape = (batch, 1 if len(spec.record) == 2 else spec.record[0], *spec.record[-2:])

    def step(i: int) -> None:
        at = (i * batch) % (RECORDS - batch)
        x = prepare(images[at:at + batch]).reshape(shape).contiguous(memory_format=fmt)
        opt.zero_grad()
        loss_fn(model(x), labels[at:at + batch]).backward()
        opt.step()

    return step


# --- children --------------------------------------------------------------------------------------
def timed_steps(step: Callable[[int], None], warmup: int, steps: int) -> dict[str, list[float]]:
    def one(i: int) -> float:
        t = time.perf_counter()
        step(i)
        return (time.perf_counter() - t) * 1e3

    warm = [one(i) for i in range(warmup)]
    return {"warmup_ms": warm, "times_ms": [one(i) for i in range(warmup, warmup + steps)]}


def one_line(err: BaseException) -> str:
    text = next((line.strip() for line in str(err).splitlines() if line.strip()), "")
    return f"{type(err).__name__}: {text}"[:300]


def child(spec: dict[str, Any]) -> None:
    """Measure what `spec` says in this process; print one JSON line."""
    kind = spec["kind"]
    if kind == "peak":
        print(json.dumps({"gflops": sgemm_gflops(spec["threads"])}), flush=True)
        return
    if kind == "check":
        check_twin(spec["net"], spec["plan"])
        print(json.dumps({"ok": True}), flush=True)
        return
    if kind == "group":
        step = singart_train_step(spec["job"], spec["threads"])
        print(json.dumps(timed_steps(step, spec["warmup"], spec["steps"])), flush=True)
        return
    try:  # a PyTorch variant that fails is a result, not a crash
        step = torch_train_step(spec["net"], VARIANTS[spec["variant"]], spec["threads"])
        result: dict[str, Any] = timed_steps(step, spec["warmup"], spec["steps"])
    except Exception as err:  # noqa: BLE001 -- reported as the variant's one-line failure
        result = {"error": one_line(err)}
    print(json.dumps(result), flush=True)


# --- the parent ------------------------------------------------------------------------------------
@dataclass
class Task:
    """One process of a round."""

    kind: str            # group | torch | run | peak
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
        spec: dict[str, Any] = {"kind": task.kind, "net": task.net, "threads": task.threads,
                                "warmup": self.args.warmup, "steps": self.args.steps}
        if task.kind == "group":
            spec["job"] = self.jobs[task.net, task.workers]
        elif task.kind == "torch":
            spec["variant"] = task.variant
        elif task.kind == "check":
            spec["plan"] = str(self.plans[task.net, -1])
        try:
            done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], env=env,
                                  capture_output=True, text=True, check=False, timeout=self.args.timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {self.args.timeout} s"}
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode or not lines:
            return {"error": last_line(done.stderr) or f"exit code {done.returncode}"}
        return json.loads(lines[-1])


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
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


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


def variants_for(net: str, wanted: list[str]) -> list[str]:
    return [v for v in wanted if NETS[net].conv or not VARIANTS[v].channels_last]


class Eta:
    """Elapsed time and an estimate of what is left, from the same task's earlier rounds."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.took: dict[tuple, list[float]] = {}

    def done(self, task: Task, seconds: float) -> None:
        self.took.setdefault(task.key, []).append(seconds)

    def left(self, tasks: list[Task]) -> float:
        everything = [s for v in self.took.values() for s in v]
        mean = statistics.fmean(everything) if everything else 0.0
        return sum(statistics.fmean(self.took[t.key]) if t.key in self.took else mean for t in tasks)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def median_ms(result: dict[str, Any]) -> float | None:
    return statistics.median(result["times_ms"]) if "times_ms" in result else None


def progress_note(task: Task, result: dict[str, Any]) -> str:
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


def compile_seconds(result: dict[str, Any]) -> float:
    """The first steps' time beyond their share of steady steps: torch.compile's compile time."""
    warm = result["warmup_ms"]
    return (sum(warm) - len(warm) * statistics.median(result["times_ms"])) / 1e3


# --- the report ------------------------------------------------------------------------------------
@dataclass
class Stat:
    values: list[float]
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    def text(self, digits: int = 1) -> str:
        if not self.values:
            return "failed: " + (self.errors[0] if self.errors else "no result")
        out = f"{self.median:.{digits}f}"
        if len(self.values) > 1:
            out += f" ({min(self.values):.{digits}f}-{max(self.values):.{digits}f})"
        if self.errors:
            out += f" [{len(self.errors)} of {len(self.values) + len(self.errors)} processes failed]"
        return out


class Results:
    def __init__(self, args: argparse.Namespace, raw: dict[tuple, list[dict[str, Any]]]) -> None:
        self.args, self.raw = args, raw

    def step(self, *key: Any) -> Stat:
        """Per-process medians of a group or torch configuration."""
        got = self.raw.get(tuple(key), [])
        return Stat([median_ms(r) for r in got if "times_ms" in r],
                    [r["error"] for r in got if "error" in r])

    def group(self, net: str, threads: int, workers: int = 1) -> Stat:
        return self.step("group", net, threads, workers, "", 0)

    def torch(self, net: str, threads: int, variant: str) -> Stat:
        return self.step("torch", net, threads, 1, variant, 0)

    def run(self, net: str, threads: int) -> Stat:
        """(t2 - t1) / (N2 - N1) of each round's two `singart run` processes, ms a step."""
        n1, n2 = self.args.run_steps
        a = self.raw.get(("run", net, threads, 1, "", n1), [])
        b = self.raw.get(("run", net, threads, 1, "", n2), [])
        values, errors = [], []
        for r1, r2 in zip(a, b, strict=False):
            if "seconds" in r1 and "seconds" in r2:
                values.append((r2["seconds"] - r1["seconds"]) / (n2 - n1) * 1e3)
            else:
                errors.append(r1.get("error") or r2.get("error", ""))
        return Stat(values, errors)

    def peak(self, threads: int, name: str = "1024^3") -> Stat:
        got = self.raw.get(("peak", "", threads, 1, "", 0), [])
        return Stat([r["gflops"][name] for r in got if "gflops" in r],
                    [r["error"] for r in got if "error" in r])

    def fastest_torch(self, net: str, threads: int) -> tuple[str, Stat] | None:
        ok = [(v, self.torch(net, threads, v)) for v in variants_for(net, self.args.variants)]
        ok = [(v, s) for v, s in ok if s.ok]
        return min(ok, key=lambda vs: vs[1].median) if ok else None


def ratio(a: Stat, b: Stat | None) -> str:
    return f"{a.median / b.median:.2f}" if b is not None and a.ok and b.ok else "-"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def report(res: Results) -> str:
    args, out = res.args, []
    n1, n2 = args.run_steps
    run_col = f"singart run ms/step ({n1} -> {n2} steps)" if n2 else "singart run (not measured)"
    rows = []
    for net in args.nets:
        for t in args.threads:
            group, run = res.group(net, t), res.run(net, t)
            best = res.fastest_torch(net, t)
            theirs = best[1] if best else None
            rows.append([net, str(NETS[net].batch), str(t), group.text(),
                         run.text() if args.run_steps[1] else "-", best[0] if best else "all failed",
                         theirs.text() if theirs else "-", ratio(group, theirs), ratio(run, theirs)])
    out.append("### Table 1: ms per training step, singart against PyTorch's fastest variant\n\n"
               "median over processes (min-max of the per-process medians); ratio < 1: singart faster\n")
    out.append(table(["net", "batch", "threads", "singart group step ms", run_col, "fastest PyTorch variant",
                      "PyTorch ms", "group / PyTorch", "run / PyTorch"], rows))

    rows = []
    for net in args.nets:
        for t in args.threads:
            eager = res.torch(net, t, "eager")
            for v in variants_for(net, args.variants):
                s = res.torch(net, t, v)
                comp = "-"
                if VARIANTS[v].compile:
                    got = res.raw.get(("torch", net, t, 1, v, 0), [])
                    comp = " / ".join(f"{compile_seconds(r):.1f}" for r in got if "times_ms" in r) or "-"
                rows.append([net, str(t), v, s.text(), ratio(s, eager), comp])
    out.append("\n### PyTorch variants (each step includes the batch's preparation from uint8 records)\n\n"
               "compile s: torch.compile's first steps beyond steady steps, per process in run order "
               "(the run's inductor cache starts empty)\n")
    out.append(table(["net", "threads", "variant", "ms", "vs eager", "compile s"], rows))

    if args.workers > 1:
        w = args.workers
        rows = []
        for net in args.nets:
            one, many, split = res.group(net, 1), res.group(net, w), res.group(net, 1, w)
            within = "-"
            if many.ok and split.ok:
                slower = 100 * (split.median / many.median - 1)
                within = f"{'yes' if slower <= 5 else 'NO'} ({slower:+.1f} %)"
            rows.append([net, one.text(), many.text(), split.text(), ratio(split, many), within,
                         ratio(one, split)])
        out.append(f"\n### Table 2: singart {w} workers x 1 thread against 1 worker x {w} threads "
                   "(target: within 5 %)\n")
        out.append(table(["net", "1 worker x 1 thread ms", f"1 worker x {w} threads ms",
                          f"{w} workers x 1 thread ms", f"{w}x1 / 1x{w}", "within 5 %",
                          f"{w}x1 speedup over 1x1"], rows))

    cores = sorted({*args.threads, *([args.workers] if args.workers > 1 else [])})
    rows = [[str(t), res.peak(t).text(0), res.peak(t, "mlp-fc2").text(0)] for t in cores]
    out.append("\n### singart's sgemm (ops.gemm), GFLOP/s, best of each process\n")
    out.append(table(["threads", "1024 x 1024 x 1024 (the peak below)", "MLP fc2, 64 x 2500 x 2000"], rows))
    if "mnist-mlp" in args.nets:
        out.append(mlp_efficiency(res))
    return "\n".join(out) + "\n"


def mlp_efficiency(res: Results) -> str:
    args, gflop = res.args, mlp_gflop("mnist-mlp")
    cores = sorted({*args.threads, *([args.workers] if args.workers > 1 else [])})
    configs: list[tuple[str, Stat, int]] = [(f"singart 1 worker x {t}", res.group("mnist-mlp", t), t)
                                            for t in cores]
    if args.workers > 1:
        configs.append((f"singart {args.workers} workers x 1", res.group("mnist-mlp", 1, args.workers),
                        args.workers))
    for t in args.threads:
        best = res.fastest_torch("mnist-mlp", t)
        if best:
            configs.append((f"PyTorch {best[0]} {t}", best[1], t))
    rows = []
    for name, stat, cores in configs:
        peak = res.peak(cores)
        if not stat.ok:
            continue
        achieved = gflop / (stat.median / 1e3)
        pct = 100 * achieved / peak.median if peak.ok else math.nan
        rows.append([name, f"{stat.median:.1f}", f"{achieved:.0f}", f"{peak.median:.0f}", f"{pct:.0f} %",
                     "yes" if pct >= 70 else "NO"])
    return (f"\n### MLP (batch {NETS['mnist-mlp'].batch}): {gflop:.2f} GFLOP a step, achieved against the "
            "sgemm peak at the same cores (target >= 70 %)\n\n"
            + table(["who, threads", "ms", "GFLOP/s", "peak GFLOP/s", "% of peak", ">= 70 %"], rows))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores usable, {platform.python_implementation()} " \
           f"{platform.python_version()}"


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("singa-py", "torch", "onednn-cpu-gomp"):
        try:
            out.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            out.append(f"{pkg} absent")
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                         check=False).stdout.strip()
    return ", ".join(out) + (f", commit {rev}" if rev else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="singart 1 worker and PyTorch")
    p.add_argument("--workers", type=int, default=2,
                   help="also singart with this many workers x 1 thread (1: not)")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--rounds", type=int, default=3, help="processes per configuration")
    p.add_argument("--steps", type=int, default=30, help="timed steps per process")
    p.add_argument("--warmup", type=int, default=5, help="untimed first steps per process")
    p.add_argument("--run-steps", nargs=2, type=int, default=[20, 120], metavar=("N1", "N2"),
                   help="train_steps of the two `singart run` processes (0 0: skip them)")
    p.add_argument("--omp-wait-policy", choices=["ACTIVE", "PASSIVE"],
                   help="set OMP_WAIT_POLICY for every child (default: none set; singart then picks its own "
                   "default, PyTorch libgomp's)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds a child may take")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    if args.run_steps[1] and not 0 < args.run_steps[0] < args.run_steps[1]:
        p.error("--run-steps: 0 < N1 < N2 (or 0 0)")
    if args.warmup < 1 and any(VARIANTS[v].compile for v in args.variants):
        p.error("--warmup: torch.compile needs at least one untimed step")
    base_env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if args.omp_wait_policy:
        base_env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    policy = args.omp_wait_policy or "unset (singart: its PASSIVE default; PyTorch: libgomp's default)"
    ignored = os.environ.get("OMP_WAIT_POLICY")
    head = [f"step_vs_torch, {time.strftime('%Y-%m-%d %H:%M')}", machine(), versions(),
            f"rounds {args.rounds}, {args.warmup} + {args.steps} steps a process, OMP_WAIT_POLICY {policy}"
            + (f" (the environment's {ignored} ignored: use --omp-wait-policy)" if ignored else ""),
            f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]
    print("\n".join(head), flush=True)

    raw: dict[tuple, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="step-vs-torch-") as tmp:
        runner = Runner(args, base_env, Path(tmp))
        runner.prepare()
        for net in args.nets:  # the twins must match the compiled plans before anything is timed
            got = runner.run(Task("check", net))
            if "error" in got:
                raise SystemExit(got["error"])
        rounds = [round_tasks(args) for _ in range(args.rounds)]
        queue = [(i, t) for i, r in enumerate(rounds) for t in (r if i % 2 == 0 else r[::-1])]
        eta = Eta()
        for n, (i, task) in enumerate(queue, 1):
            t0 = time.perf_counter()
            result = runner.run(task)
            eta.done(task, time.perf_counter() - t0)
            raw.setdefault(task.key, []).append(result)
            print(f"[{n}/{len(queue)}] round {i + 1}: {task.label()}: {progress_note(task, result)} "
                  f"({time.perf_counter() - t0:.0f} s); elapsed {clock(eta.elapsed())}, "
                  f"ETA {clock(eta.left([t for _, t in queue[n:]]))}", file=sys.stderr, flush=True)
    head.append(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    body = report(Results(args, raw))
    print("\n" + body + "\n" + head[-1])
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"step_vs_torch-{time.strftime('%Y%m%d-%H%M%S')}"
    stem.with_suffix(".md").write_text("\n".join(f"- {line}" for line in head) + "\n\n" + body)
    stem.with_suffix(".json").write_text(json.dumps(
        {"args": {k: v for k, v in vars(args).items() if k not in ("out", "child")},
         "results": [{"key": list(k), "processes": v} for k, v in raw.items()]}, indent=1))
    print(f"written: {stem.name}.md and .json in {args.out.name}/")


if __name__ == "__main__":
    main()
