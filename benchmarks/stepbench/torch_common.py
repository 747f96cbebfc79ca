"""PyTorch pieces both benchmarks use: SINGA's STanh, layer output shapes, per-param scale groups."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from singa_proto import job_pb2
from torch import nn


def stanh(x: torch.Tensor) -> torch.Tensor:
    """SINGA's scaled tanh, 1.7159 tanh(2x/3)."""
    return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class STanh(nn.Module):
    """SINGA's scaled tanh as a layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return stanh(x)


def output_shapes(model: nn.Sequential, x: torch.Tensor) -> dict[str, list[int]]:
    """Each named layer's output shape (batch aside) when `model` runs on `x`."""
    seen: dict[str, list[int]] = {}

    def keep(name: str) -> Callable[..., None]:
        return lambda module, inputs, output: seen.__setitem__(name, list(output.shape)[1:])

    hooks = [module.register_forward_hook(keep(name)) for name, module in model.named_children()]
    model(x)
    for hook in hooks:
        hook.remove()
    return seen


def scale_groups(model: nn.Module,
                 layers: Iterable[job_pb2.LayerProto]) -> dict[tuple[float, float], list[torch.Tensor]]:
    """The params of the job's `layers` (weight, bias of the module of the layer's name), grouped by
    their (lr_scale, wd_scale), in the layers' order."""
    groups: dict[tuple[float, float], list[torch.Tensor]] = {}
    for layer in layers:
        if layer.param:
            module = model.get_submodule(layer.name)
            for conf, p in zip(layer.param, (module.weight, module.bias), strict=True):
                groups.setdefault((conf.lr_scale, conf.wd_scale), []).append(p)
    return groups
