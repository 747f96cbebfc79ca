"""Test accuracy of the MNIST examples trained by singart next to the same nets trained in PyTorch.

    python benchmarks/accuracy_vs_torch.py [--nets mnist-mlp lenet] [--seeds 1 2 3] [--quick]

For each example and each seed (the job's `seed:`), in a temporary folder: `singart data mnist` writes
the shipped digits (4,000 train / 1,000 test), `singac compile` and `singart run` train the example job,
and the `Test @ step N` lines are read from its output. PyTorch then trains the net twice:

- the twin: the same net from the compiled plan with the very same initial values (the runtime's
  seeded param init), the same batches in the same order (the shards read with singart.data, wrapping
  as kShardData does), SINGA's updater rules and learning-rate schedules (written out again here from
  the v0.1 semantics, not imported). It shows that singart computes what the job says.
- the idiomatic baseline: what a PyTorch user would write for the job: nn.Linear / nn.Conv2d layers
  with PyTorch's default init (torch.manual_seed(seed)), a DataLoader shuffling the same training
  digits each epoch (same preprocessing and batch size), CrossEntropyLoss, torch.optim.SGD with the
  job's lr, momentum and weight decay (per-param lr_scale and wd_scale as param groups) and the job's
  schedule as a torch scheduler (StepLR for kStep, LambdaLR otherwise). It shows whether the example's
  accuracy is what PyTorch reaches with its own defaults.

All three test on the same 1,000 digits at the same steps. The summary gives, per net and side, the mean
final accuracy over the seeds and its range and standard deviation, and the twin's largest gap.
`--quick` trains a few steps only, a smoke check of the whole pipeline.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from singa_proto import job_pb2, plan_pb2

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# net -> (example job file, accuracy target in %, train steps under --quick)
NETS: dict[str, tuple[str, float, int]] = {
    "mnist-mlp": ("examples/mnist/job.pbtxt", 92.0, 40),
    "lenet": ("examples/mnist/lenet.pbtxt", 97.0, 100),
}
MAX_GAP = 0.5  # points of accuracy the two may differ by
TEST_LINE = re.compile(r"^Test @ step (\d+): loss = ([0-9.eE+-]+|nan|inf), accuracy = ([0-9.eE+-]+)")

Curve = dict[int, tuple[float, float]]  # step -> (test loss, test accuracy)


# --- singart, through its command lines ------------------------------------------------------------
def job_text(path: Path, steps: int | None, seed: int) -> str:
    """The example's job text with `seed`; with `steps`, trained that many steps and tested at the start
    and end."""
    fields: list[tuple[str, int]] = [("seed", seed)]
    if steps is not None:
        fields += [("train_steps", steps), ("test_freq", steps)]
    text = path.read_text()
    for field, value in fields:
        text, n = re.subn(rf"^{field}: \d+$", f"{field}: {value}", text, flags=re.MULTILINE)
        if n != 1:
            raise SystemExit(f"{path}: expected one top-level `{field}:` line, found {n}")
    return text


def run_cli(args: list[str], cwd: Path) -> str:
    """Run a console script of this installation in `cwd`; its stdout (stderr on failure)."""
    done = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True,
                          check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def train_singart(work: Path, job: str) -> tuple[plan_pb2.PlanProto, Curve, float]:
    """Compile and run `job` in `work` (which holds the shards); the plan, test curve and seconds."""
    (work / "job.pbtxt").write_text(job)
    run_cli(["singac", "compile", "job.pbtxt", "-o", "job.plan"], work)
    start = time.perf_counter()
    out = run_cli(["singart", "run", "job.plan"], work)
    seconds = time.perf_counter() - start
    curve = {int(m[1]): (float(m[2]), float(m[3])) for m in map(TEST_LINE.match, out.splitlines()) if m}
    plan = plan_pb2.PlanProto()
    plan.ParseFromString((work / "job.plan").read_bytes())
    return plan, curve, seconds


# --- the same net in PyTorch ------------------------------------------------------------------------
def stanh(x: torch.Tensor) -> torch.Tensor:
    """SINGA's scaled tanh, 1.7159 tanh(2x/3)."""
    return 1.7159 * torch.tanh(x * (2.0 / 3.0))


def conv(conf: job_pb2.LayerProto, x: torch.Tensor, p: list[torch.Tensor]) -> torch.Tensor:
    c = conf.convolution_conf  # SINGA keeps the weight as {filters, C*k*k}
    w = p[0].view(p[0].shape[0], x.shape[1], c.kernel, c.kernel)
    return F.conv2d(x, w, p[1] if len(p) > 1 else None, stride=c.stride, padding=c.pad)


def pool(conf: job_pb2.LayerProto, x: torch.Tensor, p: list[torch.Tensor]) -> torch.Tensor:
    c = conf.pooling_conf  # floor((H - k) / s) + 1, no padding, as v0.1
    f = F.max_pool2d if c.pool == job_pb2.PoolingProto.MAX else F.avg_pool2d
    return f(x, c.kernel, c.stride)


def inner_product(conf: job_pb2.LayerProto, x: torch.Tensor, p: list[torch.Tensor]) -> torch.Tensor:
    w = p[0].t() if conf.innerproduct_conf.transpose else p[0]  # weight {out, in} unless transposed
    return F.linear(x.flatten(1), w, p[1] if len(p) > 1 else None)


LAYERS: dict[str, Callable[[job_pb2.LayerProto, torch.Tensor, list[torch.Tensor]], torch.Tensor]] = {
    "kInnerProduct": inner_product,
    "kConvolution": conv,
    "kCConvolution": conv,
    "kPooling": pool,
    "kCPooling": pool,
    "kSTanh": lambda conf, x, p: stanh(x),
    "kTanh": lambda conf, x, p: torch.tanh(x),
    "kReLU": lambda conf, x, p: F.relu(x),
    "kSigmoid": lambda conf, x, p: torch.sigmoid(x),
}
# learning-rate schedules of SINGA v0.1 (reference section 1.5), step -> lr
SCHEDULES: dict[str, Callable[[job_pb2.LRGenProto, int], float]] = {
    "kFixed": lambda c, s: c.base_lr,
    "kStep": lambda c, s: c.base_lr * c.step_conf.gamma ** (s // c.step_conf.change_freq),
    "kInverse": lambda c, s: c.base_lr * (1 + c.inverse_conf.gamma * s) ** -c.inverse_conf.pow,
    "kInverseT": lambda c, s: c.base_lr / (1 + s / c.inverset_conf.final_lr),
    "kExponential": lambda c, s: c.base_lr / 2 ** (s / c.exponential_conf.change_freq),
}


class Batches:
    """kShardData's reader: `batchsize` records from the shard, in order, wrapping at the end."""

    def __init__(self, conf: job_pb2.LayerProto, seed: int) -> None:
        from singart.data.records import load_shard
        from singart.params.seeds import make_rng

        data = conf.sharddata_conf
        shard = load_shard(data.path)
        self.images, self.labels, self.size = shard.images, shard.labels, int(data.batchsize)
        skip = int(make_rng(seed, conf.name).integers(1 << 62))  # the skip singart draws once
        self.position = skip % data.random_skip if data.random_skip > 0 else 0

    def __len__(self) -> int:
        return len(self.labels)

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        """The next batch of (uint8 images, labels)."""
        idx = (self.position + np.arange(self.size)) % len(self.labels)
        self.position = (self.position + self.size) % len(self.labels)
        return self.images[idx], self.labels[idx]


class TorchNet:
    """One phase of a job's net (a chain of data, parser, neuron and loss layers) over shared params."""

    def __init__(self, job: job_pb2.JobProto, phase: int, params: dict[str, torch.Tensor]) -> None:
        self.layers = [layer for layer in job.neuralnet.layer if phase not in layer.exclude]
        kinds = {job_pb2.LayerType.Name(layer.type) for layer in self.layers}
        unknown = kinds - set(LAYERS) - {"kShardData", "kMnist", "kLabel", "kSoftmaxLoss"}
        if unknown:
            raise SystemExit(f"{job.name}: no PyTorch twin for {sorted(unknown)}; known: {sorted(LAYERS)}")
        self.data = Batches(next(la for la in self.layers if la.type == job_pb2.kShardData), job.seed)
        self.params = params

    def forward(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run one batch: (loss for the gradient, per-row loss, per-row correct)."""
        images, labels = self.data.next()
        out: dict[str, Any] = {}
        for layer in self.layers:
            kind, srcs = job_pb2.LayerType.Name(layer.type), [out[s] for s in layer.srclayers]
            if kind == "kShardData":
                out[layer.name] = None
            elif kind == "kMnist":  # x / norm_a - norm_b, in float32 as singart does
                x = torch.from_numpy(images.astype(np.float32)) / layer.mnist_conf.norm_a
                out[layer.name] = (x - layer.mnist_conf.norm_b).unsqueeze(1)
            elif kind == "kLabel":
                out[layer.name] = torch.from_numpy(labels.astype(np.int64))
            elif kind == "kSoftmaxLoss":
                return softmax_loss(layer, srcs[0].flatten(1), srcs[1])
            else:
                out[layer.name] = LAYERS[kind](layer, srcs[0], [self.params[p.name] for p in layer.param])
        raise SystemExit("the net has no kSoftmaxLoss layer")


def softmax_loss(layer: job_pb2.LayerProto, x: torch.Tensor,
                 labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean cross-entropy times `scale` (gradient (p - onehot) scale / batch); per-row loss, top-k hit."""
    rows = F.cross_entropy(x, labels, reduction="none")
    # top-k as SINGA counts it: fewer than k classes score strictly above the true one
    hit = (x > x.gather(1, labels[:, None])).sum(1) < layer.softmaxloss_conf.topk
    return rows.mean() * layer.softmaxloss_conf.scale, rows.detach(), hit


def initial_params(plan: plan_pb2.PlanProto) -> dict[str, torch.Tensor]:
    """Every param's initial value as singart draws it (seeded by job seed and param name)."""
    from singart.params.init import init_param

    entries = {e.name: e for e in plan.params}
    values = {e.name: init_param(e.conf.init, list(e.shape), plan.job.seed, e.name)
              for e in plan.params if not e.share_from}
    for name, value in values.items():
        check_init(entries[name], value)
    tensors = {name: torch.from_numpy(value).requires_grad_() for name, value in values.items()}
    return {e.name: tensors[e.share_from or e.name] for e in plan.params}  # sharers use one tensor


def check_init(entry: plan_pb2.ParamEntry, value: np.ndarray) -> None:
    """Fail when a value does not look drawn as its ParamGenProto says (reference section 1.4)."""
    gen, method = entry.conf.init, job_pb2.InitMethod.Name(entry.conf.init.type)
    scale = gen.value if gen.value != 1 else 1.0
    bounds = {"kUniform": 1.0, "kUniformSqrtFanIn": 1 / math.sqrt(value[0].size / 3)}
    if method in ("kConstant", "kConst"):
        ok = bool(np.all(value == np.float32(gen.value)))
    elif method in bounds:
        lo, hi = sorted((gen.low * scale * bounds[method], gen.high * scale * bounds[method]))
        std = (hi - lo) / math.sqrt(12)
        spread_ok = value.size < 1000 or abs(value.std() - std) < 0.05 * std  # too few to tell
        ok = value.min() >= lo and value.max() <= hi and spread_ok
    else:
        return
    if not ok:
        raise SystemExit(f"param {entry.name}: initial values are not {method} as configured")


def sgd(conf: job_pb2.UpdaterProto, w: torch.Tensor, g: torch.Tensor, h: torch.Tensor, lr: float) -> None:
    """SINGA's kSGD: with momentum h = m h - lr g, w += h; without, w -= lr g."""
    if conf.momentum > 0:
        h.mul_(conf.momentum).sub_(g, alpha=lr)
        w.add_(h)
    else:
        w.sub_(g, alpha=lr)


UPDATERS = {"kSGD": sgd}


def twin(table: dict[str, Any], kind: str) -> Any:
    """The PyTorch twin of `kind` from `table`; a missing one stops the benchmark with a line."""
    if kind not in table:
        raise SystemExit(f"no PyTorch twin for {kind}; known: {', '.join(table)}")
    return table[kind]


def evaluate(net: TorchNet, steps: int) -> tuple[float, float]:
    """Mean test loss and accuracy over `steps` batches."""
    losses, hits = [], []
    with torch.no_grad():
        for _ in range(steps):
            _, rows, hit = net.forward()
            losses.append(rows)
            hits.append(hit)
    return float(torch.cat(losses).mean()), float(torch.cat(hits).float().mean())


def train_torch(plan: plan_pb2.PlanProto, cwd: Path) -> tuple[Curve, float]:
    """Train the plan's job in PyTorch as singart would; its test curve and seconds."""
    job, params = plan.job, initial_params(plan)
    with contextlib.chdir(cwd):  # the job's shard paths are relative to it
        train, test = TorchNet(job, job_pb2.kTrain, params), TorchNet(job, job_pb2.kTest, params)
    updater, schedule = job.updater, job.updater.learning_rate
    rule, lr_of = twin(UPDATERS, job_pb2.UpdaterType.Name(updater.type)), twin(
        SCHEDULES, job_pb2.ChangeMethod.Name(schedule.type))
    owned = [e for e in plan.params if not e.share_from]
    history = {e.name: torch.zeros_like(params[e.name]) for e in owned}
    curve: Curve = {}
    start = time.perf_counter()
    for step in range(job.train_steps + 1):
        if (job.test_freq and step % job.test_freq == 0) or step == job.train_steps:
            curve[step] = evaluate(test, job.test_steps)
        if step == job.train_steps:
            break
        loss, _, _ = train.forward()
        for e in owned:
            params[e.name].grad = None
        loss.backward()
        with torch.no_grad():
            for e in owned:
                w = params[e.name]
                g = w.grad + updater.weight_decay * e.conf.wd_scale * w  # decay joins the gradient
                rule(updater, w, g, history[e.name], lr_of(schedule, step) * e.conf.lr_scale)
    return curve, time.perf_counter() - start


# --- the idiomatic PyTorch baseline ---------------------------------------------------------------
class STanh(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return stanh(x)


def idiomatic_model(plan: plan_pb2.PlanProto) -> tuple[torch.nn.Sequential, list[dict[str, Any]]]:
    """The job's train net as nn layers with PyTorch's default init, and SGD param groups carrying each
    param's lr_scale and wd_scale (lr and weight decay to be multiplied in)."""
    from torch import nn

    graph = next(g for g in plan.graphs if g.phase == job_pb2.kTrain)
    shapes = {n.name: list(n.shape) for n in graph.nodes}
    layers: list[tuple[str, nn.Module]] = []
    scales: list[tuple[job_pb2.ParamProto, torch.Tensor]] = []
    for layer in plan.job.neuralnet.layer:
        if job_pb2.kTrain in layer.exclude:
            continue
        kind = job_pb2.LayerType.Name(layer.type)
        src = shapes[layer.srclayers[0]] if layer.srclayers else []
        module: nn.Module | None = None
        if kind == "kInnerProduct":
            if len(src) > 2:
                layers.append((f"{layer.name}-flat", nn.Flatten()))
            module = nn.Linear(math.prod(src[1:]), layer.innerproduct_conf.num_output)
        elif kind in ("kConvolution", "kCConvolution"):
            c = layer.convolution_conf
            channels = src[1] if len(src) == 4 else 1  # kMnist gives [N, H, W]
            module = nn.Conv2d(channels, c.num_filters, c.kernel, c.stride, c.pad)
        elif kind in ("kPooling", "kCPooling"):
            c = layer.pooling_conf  # no padding, floor: nn's defaults
            pool = nn.MaxPool2d if c.pool == job_pb2.PoolingProto.MAX else nn.AvgPool2d
            module = pool(c.kernel, c.stride)
        elif kind in ("kSTanh", "kTanh", "kReLU", "kSigmoid"):
            module = {"kSTanh": STanh, "kTanh": nn.Tanh, "kReLU": nn.ReLU, "kSigmoid": nn.Sigmoid}[kind]()
        elif kind not in ("kShardData", "kMnist", "kLabel", "kSoftmaxLoss"):
            raise SystemExit(f"{plan.job.name}: no idiomatic PyTorch layer for {kind}")
        if module is not None:
            layers.append((layer.name, module))
            if layer.param:
                owned = [module.weight, module.bias]
                scales += list(zip(layer.param, owned, strict=True))
    groups: dict[tuple[float, float], list[torch.Tensor]] = {}
    for conf, p in scales:
        groups.setdefault((conf.lr_scale, conf.wd_scale), []).append(p)
    model = nn.Sequential(OrderedDict(layers))
    check_shapes(model, shapes)
    return model, [{"params": ps, "lr_scale": ls, "wd_scale": ws} for (ls, ws), ps in groups.items()]


def check_shapes(model: torch.nn.Sequential, shapes: dict[str, list[int]]) -> None:
    """Fail unless every named layer gives the plan's shape for its node (batch aside)."""
    seen: dict[str, list[int]] = {}
    for name, module in model.named_children():
        module.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, list(o.shape)[1:]))
    first = next(shape for name, shape in shapes.items() if name not in ("data", "label")
                 and len(shape) > 1)  # the parser's output
    model(torch.zeros(2, 1, *first[-2:]))
    wrong = [f"{name}: {shape} vs the plan's {shapes[name][1:]}" for name, shape in seen.items()
             if name in shapes and shapes[name][1:] != shape]
    if wrong:
        raise SystemExit("the idiomatic PyTorch net does not match the plan: " + "; ".join(wrong))


def idiomatic_scheduler(opt: torch.optim.Optimizer, conf: job_pb2.LRGenProto):
    """The job's schedule as a torch scheduler: StepLR for kStep, LambdaLR for the other formulas."""
    method = job_pb2.ChangeMethod.Name(conf.type)
    if method == "kFixed":
        return None
    if method == "kStep":
        return torch.optim.lr_scheduler.StepLR(opt, conf.step_conf.change_freq, conf.step_conf.gamma)
    formula = twin(SCHEDULES, method)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: formula(conf, s) / conf.base_lr)


def shard_tensors(conf: job_pb2.LayerProto,
                  parser: job_pb2.LayerProto) -> tuple[torch.Tensor, torch.Tensor]:
    """A shard's digits, preprocessed as the job's kMnist layer does, and its labels."""
    from singart.data.records import load_shard

    shard = load_shard(conf.sharddata_conf.path)
    x = torch.from_numpy(shard.images.astype(np.float32)) / parser.mnist_conf.norm_a
    return (x - parser.mnist_conf.norm_b).unsqueeze(1), torch.from_numpy(shard.labels.astype(np.int64))


def train_idiomatic(plan: plan_pb2.PlanProto, cwd: Path, seed: int) -> tuple[Curve, float]:
    """Train the job as a PyTorch user would write it; its test curve and seconds."""
    job = plan.job
    torch.manual_seed(seed)
    model, groups = idiomatic_model(plan)
    layers = list(job.neuralnet.layer)
    parser = next(la for la in layers if la.type == job_pb2.kMnist)
    data = {phase: next(la for la in layers if la.type == job_pb2.kShardData and phase not in la.exclude)
            for phase in (job_pb2.kTrain, job_pb2.kTest)}
    with contextlib.chdir(cwd):
        train_x, train_y = shard_tensors(data[job_pb2.kTrain], parser)
        test_x, test_y = shard_tensors(data[job_pb2.kTest], parser)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x, train_y), shuffle=True,
                                         batch_size=data[job_pb2.kTrain].sharddata_conf.batchsize,
                                         generator=torch.Generator().manual_seed(seed))
    u, schedule = job.updater, job.updater.learning_rate
    if job_pb2.UpdaterType.Name(u.type) != "kSGD":
        raise SystemExit(f"no idiomatic PyTorch optimizer for {job_pb2.UpdaterType.Name(u.type)}")
    opt = torch.optim.SGD([{"params": g["params"], "lr": schedule.base_lr * g["lr_scale"],
                            "weight_decay": u.weight_decay * g["wd_scale"]} for g in groups],
                          lr=schedule.base_lr, momentum=u.momentum)
    scheduler = idiomatic_scheduler(opt, schedule)
    loss_fn = torch.nn.CrossEntropyLoss()
    test_batch = data[job_pb2.kTest].sharddata_conf.batchsize
    curve: Curve = {}
    batches = iter(loader)
    start = time.perf_counter()
    for step in range(job.train_steps + 1):
        if (job.test_freq and step % job.test_freq == 0) or step == job.train_steps:
            model.eval()
            with torch.no_grad():
                logits = torch.cat([model(x) for x in test_x.split(test_batch)])
            curve[step] = (float(loss_fn(logits, test_y)), float((logits.argmax(1) == test_y).float().mean()))
            model.train()
        if step == job.train_steps:
            break
        try:
            x, y = next(batches)
        except StopIteration:  # the next epoch, reshuffled
            batches = iter(loader)
            x, y = next(batches)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
    return curve, time.perf_counter() - start


# --- the comparison ---------------------------------------------------------------------------------
SIDES = ("singart", "twin", "idiomatic")


@dataclass
class Run:
    """One seed of one net: final accuracy (%) and seconds of each side."""

    accuracy: dict[str, float]
    seconds: dict[str, float]


def compare(net: str, quick: bool, seed: int) -> Run:
    """Train `net` with `seed` the three ways; print the three test curves."""
    path, _, quick_steps = NETS[net]
    with tempfile.TemporaryDirectory(prefix=f"acc-{net}-") as tmp:
        work = Path(tmp)
        run_cli(["singart", "data", "mnist", "-o", "examples/mnist"], work)
        plan, ours, secs = train_singart(work, job_text(ROOT / path, quick_steps if quick else None, seed))
        check_coverage(plan, work)
        twin_curve, twin_secs = train_torch(plan, work)
        idio_curve, idio_secs = train_idiomatic(plan, work, seed)
    curves = dict(zip(SIDES, (ours, twin_curve, idio_curve), strict=True))
    print(f"\n{net}, seed {seed}: {plan.job.train_steps} steps; test loss / accuracy on all 1,000 "
          "test digits")
    print(f"{'step':>6} " + " ".join(f"{side:>18}" for side in SIDES))
    for step in sorted(twin_curve):
        cells = [curves[side].get(step, (math.nan, math.nan)) for side in SIDES]
        print(f"{step:>6} " + " ".join(f"{loss:>9.5f} {100 * acc:>7.2f}%" for loss, acc in cells))
    end = plan.job.train_steps
    run = Run({side: 100 * curves[side].get(end, (math.nan, math.nan))[1] for side in SIDES},
              dict(zip(SIDES, (secs, twin_secs, idio_secs), strict=True)))
    print("time: " + ", ".join(f"{side} {run.seconds[side]:.0f} s" for side in SIDES)
          + " (singart: the whole `singart run` process)")
    return run


def spread(values: list[float]) -> str:
    """min-max and the standard deviation of `values`."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{min(values):.2f}-{max(values):.2f}, sd {sd:.2f}"


def check_coverage(plan: plan_pb2.PlanProto, work: Path) -> None:
    """Each test must read every test digit exactly once: test_steps x batch = the test shard's size."""
    from singart.data.records import load_shard

    layer = next(la for la in plan.job.neuralnet.layer
                 if la.type == job_pb2.kShardData and job_pb2.kTrain in la.exclude)
    size = len(load_shard(str(work / layer.sharddata_conf.path)))
    if plan.job.test_steps * layer.sharddata_conf.batchsize != size:
        raise SystemExit(f"{plan.job.name}: test_steps {plan.job.test_steps} x batchsize "
                         f"{layer.sharddata_conf.batchsize} does not cover the {size} test digits once")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", nargs="+", choices=list(NETS), default=list(NETS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="the jobs' seed: values")
    ap.add_argument("--quick", action="store_true", help="train a few steps only (a smoke check)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(), help="PyTorch threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    runs = {net: [compare(net, args.quick, seed) for seed in args.seeds] for net in args.nets}
    print(f"\nfinal test accuracy over seeds {' '.join(map(str, args.seeds))}: mean (min-max, sd)\n")
    print("| net | side | accuracy % | twin gap, max points | time s (mean) | target | met |")
    print("|---|---|---|---|---|---|---|")
    failed = False
    for net, got in runs.items():
        target = NETS[net][1]
        gap = max(abs(r.accuracy["singart"] - r.accuracy["twin"]) for r in got)
        for side in SIDES:
            accs = [r.accuracy[side] for r in got]
            mean, secs = statistics.fmean(accs), statistics.fmean(r.seconds[side] for r in got)
            met = "-"
            if side == "singart" and not args.quick:
                ok = mean >= target and gap <= MAX_GAP
                failed |= not ok
                met = "yes" if ok else "NO"
            print(f"| {net} | {side} | {mean:.2f} ({spread(accs)}) | "
                  f"{f'{gap:.2f} (<= {MAX_GAP})' if side == 'twin' else '-'} | {secs:.0f} | "
                  f"{f'>= {target:.0f} %' if side == 'singart' else '-'} | {met} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
