"""PyTorch in a child process: the twins of the nets, their param groups, the twin check, the step.

Imported by child processes only (it loads torch, whose OpenMP runtime must not meet singart's).
"""
from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from singa_proto import job_pb2, plan_pb2
from torch import nn

from .nets import NETS, RECORDS, ROOT, Net, Variant, read_job, synthetic_records
from .torch_common import STanh, output_shapes, scale_groups

Layers = list[tuple[str, nn.Module]]


# --- the twins: the example nets layer for layer, named as the job's layers ------------------------
def conv(cin: int, cout: int, pad: int) -> nn.Module:
    """A 5x5 convolution, as in every example convnet."""
    return nn.Conv2d(cin, cout, 5, padding=pad)


def lrn() -> nn.Module:
    """kLRN with local_size 3, alpha 5e-5, beta 0.75, knorm 1."""
    return nn.LocalResponseNorm(3, alpha=5e-5, beta=0.75, k=1.0)


def mlp_layers() -> Layers:
    """SINGA's MNIST MLP: 784-2500-2000-1500-1000-500-10 with STanh between."""
    sizes = [784, 2500, 2000, 1500, 1000, 500, 10]
    layers: Layers = [("flat", nn.Flatten())]
    for i, (a, b) in enumerate(itertools.pairwise(sizes), 1):
        layers.append((f"fc{i}", nn.Linear(a, b)))
        if i < len(sizes) - 1:
            layers.append((f"tanh{i}", STanh()))
    return layers


def lenet_layers() -> Layers:
    """LeNet: conv 20, max pool, conv 50, max pool, 500 ReLU, 10."""
    return [("conv1", conv(1, 20, 0)), ("pool1", nn.MaxPool2d(2, 2)), ("conv2", conv(20, 50, 0)),
            ("pool2", nn.MaxPool2d(2, 2)), ("flat", nn.Flatten()), ("ip1", nn.Linear(800, 500)),
            ("relu1", nn.ReLU()), ("ip2", nn.Linear(500, 10))]


def cifar10_singa_layers() -> Layers:
    """SINGA's CIFAR-10 net: three convolutions, two LRN layers, one inner product."""
    return [("conv1", conv(3, 32, 2)), ("pool1", nn.MaxPool2d(3, 2)), ("relu1", nn.ReLU()),
            ("norm1", lrn()), ("conv2", conv(32, 32, 2)), ("relu2", nn.ReLU()),
            ("pool2", nn.AvgPool2d(3, 2)), ("norm2", lrn()), ("conv3", conv(32, 64, 2)),
            ("relu3", nn.ReLU()), ("pool3", nn.AvgPool2d(3, 2)), ("flat", nn.Flatten()),
            ("ip1", nn.Linear(576, 10))]


def cifar10_quick_layers() -> Layers:
    """Caffe's cifar10_quick: 32-32-64 convolutions, ip 64, ip 10."""
    return [("conv1", conv(3, 32, 2)), ("pool1", nn.MaxPool2d(3, 2)), ("relu1", nn.ReLU()),
            ("conv2", conv(32, 32, 2)), ("relu2", nn.ReLU()), ("pool2", nn.AvgPool2d(3, 2)),
            ("conv3", conv(32, 64, 2)), ("relu3", nn.ReLU()), ("pool3", nn.AvgPool2d(3, 2)),
            ("flat", nn.Flatten()), ("ip1", nn.Linear(576, 64)), ("ip2", nn.Linear(64, 10))]


TWINS: dict[str, Callable[[], Layers]] = {
    "mnist-mlp": mlp_layers,
    "lenet": lenet_layers,
    "cifar10-singa": cifar10_singa_layers,
    "cifar10-quick": cifar10_quick_layers,
}


def torch_model(net: str) -> nn.Sequential:
    """The example net in PyTorch, layer for layer (SINGA's pooling: no padding, floor)."""
    if net not in TWINS:
        raise ValueError(f"no PyTorch twin for {net}")
    return nn.Sequential(OrderedDict(TWINS[net]()))


def input_shape(spec: Net) -> tuple[int, ...]:
    """One sample's (channels, height, width): MNIST records have no channel axis."""
    return (1 if len(spec.record) == 2 else spec.record[0], *spec.record[-2:])


def param_groups(model: nn.Module, job: job_pb2.JobProto) -> list[dict[str, Any]]:
    """torch.optim.SGD param groups with the job's updater: lr, momentum, weight decay, and each
    param's lr_scale and wd_scale (the schedule is left out: a constant lr costs the same)."""
    u = job.updater
    lr = (u.learning_rate.fixedstep_conf.step_lr[0] if u.learning_rate.type == job_pb2.kFixedStep
          else u.learning_rate.base_lr)
    return [{"params": ps, "lr": lr * ls, "weight_decay": u.weight_decay * ws, "momentum": u.momentum}
            for (ls, ws), ps in scale_groups(model, job.neuralnet.layer).items()]


# --- the twin check --------------------------------------------------------------------------------
def check_twin(net: str, plan_path: str) -> None:
    """Fail unless the PyTorch twin has the plan's layers: each named layer's output shape and each
    param's size as the compiled plan has them, every torch param in exactly one group."""
    import singac  # the compiler's plan reader; the timed children do without it

    plan = singac.read_plan(plan_path)
    model = torch_model(net)
    seen = output_shapes(model, torch.zeros(2, *input_shape(NETS[net])))
    problems = shape_problems(plan, seen) + param_problems(plan, model, seen) + group_problems(plan, model)
    if problems:
        raise SystemExit(f"{net}: the PyTorch twin does not match the plan: " + "; ".join(problems))


def shape_problems(plan: plan_pb2.PlanProto, seen: dict[str, list[int]]) -> list[str]:
    """Layers whose torch output shape differs from their node's in the plan's train graph."""
    graph = next(g for g in plan.graphs if g.phase == job_pb2.kTrain)
    shapes = {n.name: list(n.shape)[1:] for n in graph.nodes}
    return [f"{name}: torch {shape}, plan {shapes[name]}" for name, shape in seen.items()
            if name in shapes and shapes[name] != shape]


def param_problems(plan: plan_pb2.PlanProto, model: nn.Module, seen: dict[str, list[int]]) -> list[str]:
    """Layers with params that the twin lacks, and params whose size differs from the plan's."""
    sizes = {e.name: math.prod(e.shape) for e in plan.params}
    layers = [la for la in plan.job.neuralnet.layer if la.param]
    problems = [f"{name}: no torch layer" for name in sorted({la.name for la in layers} - set(seen))]
    for la in layers:
        if la.name in seen:
            module = model.get_submodule(la.name)
            for conf, p in zip(la.param, (module.weight, module.bias), strict=True):
                if p.numel() != sizes[conf.name]:
                    problems.append(f"{conf.name}: torch {p.numel()} values, plan {sizes[conf.name]}")
    return problems


def group_problems(plan: plan_pb2.PlanProto, model: nn.Module) -> list[str]:
    """A line when some torch param is in none of the updater's groups."""
    grouped = sum(len(g["params"]) for g in param_groups(model, plan.job))
    total = len(list(model.parameters()))
    return [] if grouped == total else [f"{grouped} of {total} torch params in the updater's groups"]


# --- the timed step --------------------------------------------------------------------------------
def batch_preparation(job: job_pb2.JobProto, images: np.ndarray) -> Callable[[torch.Tensor], torch.Tensor]:
    """uint8 records to the float batch as the job's parser layer does (the mean image from `images`)."""
    parser = next(la for la in job.neuralnet.layer if la.type in (job_pb2.kMnist, job_pb2.kRGBImage))
    if parser.type == job_pb2.kMnist:
        a, b = parser.mnist_conf.norm_a, parser.mnist_conf.norm_b
        return lambda x: x.float().div_(a).sub_(b)
    mean, scale = torch.from_numpy(images.mean(0, dtype=np.float32)), parser.rgbimage_conf.scale
    return lambda x: x.float().sub_(mean).mul_(scale)


def variant_model(net: str, job: job_pb2.JobProto,
                  variant: Variant) -> tuple[nn.Module, torch.optim.Optimizer, torch.memory_format]:
    """The twin as `variant` runs it, its SGD with the job's param groups, and its memory format."""
    fmt = torch.channels_last if variant.channels_last else torch.contiguous_format
    model = torch_model(net).to(memory_format=fmt)
    opt = torch.optim.SGD(param_groups(model, job), lr=0.0, **variant.optimizer)
    if variant.compile:
        model = torch.compile(model)
    return model, opt, fmt


def torch_train_step(net: str, variant: Variant, threads: int) -> Callable[[int], None]:
    """One PyTorch training step, the batch cut from uint8 records and scaled as the job's parser does."""
    torch.set_num_threads(threads)
    spec, job = NETS[net], read_job(ROOT / NETS[net].job)
    images_np, labels_np = synthetic_records(spec.record)
    images, labels = torch.from_numpy(images_np), torch.from_numpy(labels_np)
    prepare = batch_preparation(job, images_np)
    model, opt, fmt = variant_model(net, job, variant)
    loss_fn = nn.CrossEntropyLoss()
    batch = spec.batch
    shape = (batch, *input_shape(spec))

    def step(i: int) -> None:
        at = (i * batch) % (RECORDS - batch)
        x = prepare(images[at:at + batch]).reshape(shape).contiguous(memory_format=fmt)
        opt.zero_grad()
        loss_fn(model(x), labels[at:at + batch]).backward()
        opt.step()

    return step
