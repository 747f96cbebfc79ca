"""The idiomatic baseline: the job's net as a PyTorch user would write it.

nn layers with PyTorch's default init, a shuffling DataLoader, CrossEntropyLoss, torch.optim.SGD with
the job's hyperparameters and per-param scales as param groups, the schedule as a torch scheduler.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from singa_proto import job_pb2, plan_pb2
from stepbench.torch_common import STanh, output_shapes, scale_groups
from torch import nn

from .curve import Curve, is_test_step
from .twin import SCHEDULES, twin

ACTIVATIONS: dict[str, type[nn.Module]] = {"kSTanh": STanh, "kTanh": nn.Tanh, "kReLU": nn.ReLU,
                                           "kSigmoid": nn.Sigmoid}
NO_MODULE = ("kShardData", "kMnist", "kLabel", "kSoftmaxLoss")  # data, parser, label and loss layers


def idiomatic_model(plan: plan_pb2.PlanProto) -> tuple[nn.Sequential, list[dict[str, Any]]]:
    """The job's train net as nn layers with PyTorch's default init, and SGD param groups carrying each
    param's lr_scale and wd_scale (lr and weight decay to be multiplied in)."""
    graph = next(g for g in plan.graphs if g.phase == job_pb2.kTrain)
    shapes = {n.name: list(n.shape) for n in graph.nodes}
    layers = [layer for layer in plan.job.neuralnet.layer if job_pb2.kTrain not in layer.exclude]
    modules: list[tuple[str, nn.Module]] = []
    for layer in layers:
        modules += idiomatic_layer(plan.job.name, layer, shapes[layer.srclayers[0]] if layer.srclayers else [])
    model = nn.Sequential(OrderedDict(modules))
    check_shapes(model, shapes)
    groups = scale_groups(model, layers)
    return model, [{"params": ps, "lr_scale": ls, "wd_scale": ws} for (ls, ws), ps in groups.items()]


def idiomatic_layer(job: str, layer: job_pb2.LayerProto, src: list[int]) -> list[tuple[str, nn.Module]]:
    """The named nn modules of one layer of the job, whose source gives `src` (none for NO_MODULE)."""
    kind = job_pb2.LayerType.Name(layer.type)
    if kind == "kInnerProduct":
        flat = [(f"{layer.name}-flat", nn.Flatten())] if len(src) > 2 else []
        return flat + [(layer.name, nn.Linear(math.prod(src[1:]), layer.innerproduct_conf.num_output))]
    if kind in ("kConvolution", "kCConvolution"):
        c = layer.convolution_conf
        channels = src[1] if len(src) == 4 else 1  # kMnist gives [N, H, W]
        return [(layer.name, nn.Conv2d(channels, c.num_filters, c.kernel, c.stride, c.pad))]
    if kind in ("kPooling", "kCPooling"):
        c = layer.pooling_conf  # no padding, floor: nn's defaults
        pool = nn.MaxPool2d if c.pool == job_pb2.PoolingProto.MAX else nn.AvgPool2d
        return [(layer.name, pool(c.kernel, c.stride))]
    if kind in ACTIVATIONS:
        return [(layer.name, ACTIVATIONS[kind]())]
    if kind not in NO_MODULE:
        raise SystemExit(f"{job}: no idiomatic PyTorch layer for {kind}")
    return []


def check_shapes(model: nn.Sequential, shapes: dict[str, list[int]]) -> None:
    """Fail unless every named layer gives the plan's shape for its node (batch aside)."""
    first = next(shape for name, shape in shapes.items() if name not in ("data", "label")
                 and len(shape) > 1)  # the parser's output
    seen = output_shapes(model, torch.zeros(2, 1, *first[-2:]))
    wrong = [f"{name}: {shape} vs the plan's {shapes[name][1:]}" for name, shape in seen.items()
             if name in shapes and shapes[name][1:] != shape]
    if wrong:
        raise SystemExit("the idiomatic PyTorch net does not match the plan: " + "; ".join(wrong))


def idiomatic_optimizer(job: job_pb2.JobProto, groups: list[dict[str, Any]]) -> torch.optim.Optimizer:
    """torch.optim.SGD with the job's lr, momentum and weight decay, scaled per group."""
    u, schedule = job.updater, job.updater.learning_rate
    if job_pb2.UpdaterType.Name(u.type) != "kSGD":
        raise SystemExit(f"no idiomatic PyTorch optimizer for {job_pb2.UpdaterType.Name(u.type)}")
    return torch.optim.SGD([{"params": g["params"], "lr": schedule.base_lr * g["lr_scale"],
                             "weight_decay": u.weight_decay * g["wd_scale"]} for g in groups],
                           lr=schedule.base_lr, momentum=u.momentum)


def idiomatic_scheduler(opt: torch.optim.Optimizer, conf: job_pb2.LRGenProto) -> Any:
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


def shard_data(job: job_pb2.JobProto, cwd: Path) -> dict[int, tuple[int, torch.Tensor, torch.Tensor]]:
    """Per phase (kTrain, kTest): the batch size, the digits and the labels of its shard."""
    layers = list(job.neuralnet.layer)
    parser = next(la for la in layers if la.type == job_pb2.kMnist)
    data = {phase: next(la for la in layers if la.type == job_pb2.kShardData and phase not in la.exclude)
            for phase in (job_pb2.kTrain, job_pb2.kTest)}
    with contextlib.chdir(cwd):  # the job's shard paths are relative to it
        return {phase: (layer.sharddata_conf.batchsize, *shard_tensors(layer, parser))
                for phase, layer in data.items()}


def epochs(loader: torch.utils.data.DataLoader) -> Iterator[list[torch.Tensor]]:
    """The loader's batches, epoch after epoch, each epoch reshuffled."""
    while True:
        yield from loader


def test_point(model: nn.Module, loss_fn: nn.Module, batch: int, x: torch.Tensor,
               y: torch.Tensor) -> tuple[float, float]:
    """Test loss and accuracy of `model` over all of (x, y), `batch` digits at a time."""
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(part) for part in x.split(batch)])
    model.train()
    return float(loss_fn(logits, y)), float((logits.argmax(1) == y).float().mean())


def train_idiomatic(plan: plan_pb2.PlanProto, cwd: Path, seed: int) -> tuple[Curve, float]:
    """Train the job as a PyTorch user would write it; its test curve and seconds."""
    job = plan.job
    torch.manual_seed(seed)
    model, groups = idiomatic_model(plan)
    data = shard_data(job, cwd)
    train_batch, train_x, train_y = data[job_pb2.kTrain]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x, train_y), shuffle=True,
                                         batch_size=train_batch, generator=torch.Generator().manual_seed(seed))
    opt = idiomatic_optimizer(job, groups)
    scheduler = idiomatic_scheduler(opt, job.updater.learning_rate)
    loss_fn, batches = torch.nn.CrossEntropyLoss(), epochs(loader)
    curve: Curve = {}
    start = time.perf_counter()
    for step in range(job.train_steps + 1):
        if is_test_step(job, step):
            curve[step] = test_point(model, loss_fn, *data[job_pb2.kTest])
        if step == job.train_steps:
            break
        x, y = next(batches)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
    return curve, time.perf_counter() - start
