"""The twin: the job's net in PyTorch with singart's initial values, batches, updater and schedule.

SINGA's updater rules and learning-rate schedules are written out again here from the v0.1 semantics,
not imported: the twin checks that singart computes what the job says.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from singa_proto import job_pb2, plan_pb2
from stepbench.torch_common import stanh

from .curve import Curve, is_test_step


def conv(conf: job_pb2.LayerProto, x: torch.Tensor, p: list[torch.Tensor]) -> torch.Tensor:
    """kConvolution with the layer's weight and bias."""
    c = conf.convolution_conf  # SINGA keeps the weight as {filters, C*k*k}
    w = p[0].view(p[0].shape[0], x.shape[1], c.kernel, c.kernel)
    return F.conv2d(x, w, p[1] if len(p) > 1 else None, stride=c.stride, padding=c.pad)


def pool(conf: job_pb2.LayerProto, x: torch.Tensor, p: list[torch.Tensor]) -> torch.Tensor:
    """kPooling, max or average."""
    c = conf.pooling_conf  # floor((H - k) / s) + 1, no padding, as v0.1
    f = F.max_pool2d if c.pool == job_pb2.PoolingProto.MAX else F.avg_pool2d
    return f(x, c.kernel, c.stride)


def inner_product(conf: job_pb2.LayerProto, x: torch.Tensor, p: list[torch.Tensor]) -> torch.Tensor:
    """kInnerProduct on the flattened input."""
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


def updater(plan: plan_pb2.PlanProto, params: dict[str, torch.Tensor]) -> Callable[[torch.Tensor, int], None]:
    """The job's update at a step from its loss: gradients, weight decay, the rule at the step's lr."""
    job = plan.job
    conf, schedule = job.updater, job.updater.learning_rate
    rule = twin(UPDATERS, job_pb2.UpdaterType.Name(conf.type))
    lr_of = twin(SCHEDULES, job_pb2.ChangeMethod.Name(schedule.type))
    owned = [e for e in plan.params if not e.share_from]
    history = {e.name: torch.zeros_like(params[e.name]) for e in owned}

    def update(loss: torch.Tensor, step: int) -> None:
        for e in owned:
            params[e.name].grad = None
        loss.backward()
        with torch.no_grad():
            for e in owned:
                w = params[e.name]
                g = w.grad + conf.weight_decay * e.conf.wd_scale * w  # decay joins the gradient
                rule(conf, w, g, history[e.name], lr_of(schedule, step) * e.conf.lr_scale)

    return update


def train_torch(plan: plan_pb2.PlanProto, cwd: Path) -> tuple[Curve, float]:
    """Train the plan's job in PyTorch as singart would; its test curve and seconds."""
    job, params = plan.job, initial_params(plan)
    with contextlib.chdir(cwd):  # the job's shard paths are relative to it
        train, test = TorchNet(job, job_pb2.kTrain, params), TorchNet(job, job_pb2.kTest, params)
    update = updater(plan, params)
    curve: Curve = {}
    start = time.perf_counter()
    for step in range(job.train_steps + 1):
        if is_test_step(job, step):
            curve[step] = evaluate(test, job.test_steps)
        if step == job.train_steps:
            break
        loss, _, _ = train.forward()
        update(loss, step)
    return curve, time.perf_counter() - start
