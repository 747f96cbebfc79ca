"""Param rules of the layer kinds: (conf, the first input's whole shape) -> [(role, param shape)].

Roles come in the order the job declares `param` blocks for the layer. Under feature partitioning a
partition uses a block of each param along its feature axis (LayerSpec.feature_axes).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Shape = tuple[int, ...]
Roles = list[tuple[str, Shape]]


def none(conf: Any, in_shape: Shape) -> Roles:
    return []


def inner_product(conf: Any, in_shape: Shape) -> Roles:
    c = conf.innerproduct_conf
    vdim, hdim = math.prod(in_shape[1:]), c.num_output
    roles: Roles = [("weight", (vdim, hdim) if c.transpose else (hdim, vdim))]
    return roles + ([("bias", (hdim,))] if c.bias_term else [])


def convolution(conf: Any, in_shape: Shape) -> Roles:
    c = conf.convolution_conf
    roles: Roles = [("weight", (c.num_filters, in_shape[1] * c.kernel * c.kernel))]
    return roles + ([("bias", (c.num_filters,))] if c.bias_term else [])


def rbm_vis(conf: Any, in_shape: Shape) -> Roles:
    vdim = math.prod(in_shape[1:])
    roles: Roles = [("weight", (conf.rbm_conf.hdim, vdim))]
    return roles + ([("bias", (vdim,))] if conf.rbm_conf.bias_term else [])


def rbm_hid(conf: Any, in_shape: Shape) -> Roles:
    hdim = conf.rbm_conf.hdim
    roles: Roles = [("weight", (hdim, math.prod(in_shape[1:])))]
    return roles + ([("bias", (hdim,))] if conf.rbm_conf.bias_term else [])


def embedding(conf: Any, in_shape: Shape) -> Roles:
    return [("weight", (conf.embedding_conf.vocab_size, conf.embedding_conf.word_dim))]


def gated(gates: int) -> Callable[[Any, Shape], Roles]:
    """The params of a recurrent cell with `gates` gates (1: tanh RNN, 3: GRU, 4: LSTM): the input and
    recurrent weights, the input side's bias (bias_term), the recurrent side's (recurrent_bias)."""
    def rule(conf: Any, in_shape: Shape) -> Roles:
        c, d = conf.rnn_conf, in_shape[-1]
        h = c.dim
        roles: Roles = [("weight_x", (gates * h, d)), ("weight_h", (gates * h, h))]
        roles += [("bias", (gates * h,))] if c.bias_term else []
        return roles + ([("bias_h", (gates * h,))] if c.recurrent_bias else [])
    return rule


def inner_product_axes(conf: Any, role: str) -> int:
    """A transposed inner product keeps its weight as (vdim, hdim): the features are its columns."""
    return 1 if role == "weight" and conf.innerproduct_conf.transpose else 0


def rows(conf: Any, role: str) -> int:
    """The params' rows follow the output features (weight (hdim, ...), bias (hdim,))."""
    return 0
