"""Per-layer-type param rules: which params a layer has (roles) and their full shapes."""
from __future__ import annotations

import math
from collections.abc import Callable

Shape = tuple[int, ...]
Roles = list[tuple[str, Shape]]


def _inner(conf, in_shape: Shape, out_shape: Shape) -> Roles:
    c = conf.innerproduct_conf
    vdim, hdim = math.prod(in_shape[1:]), c.num_output
    roles: Roles = [("weight", (vdim, hdim) if c.transpose else (hdim, vdim))]
    return roles + ([("bias", (hdim,))] if c.bias_term else [])


def _conv(conf, in_shape: Shape, out_shape: Shape) -> Roles:
    c = conf.convolution_conf
    roles: Roles = [("weight", (c.num_filters, in_shape[1] * c.kernel * c.kernel))]
    return roles + ([("bias", (c.num_filters,))] if c.bias_term else [])


def _rbm_vis(conf, in_shape: Shape, out_shape: Shape) -> Roles:
    vdim = math.prod(in_shape[1:])
    roles: Roles = [("weight", (conf.rbm_conf.hdim, vdim))]
    return roles + ([("bias", (vdim,))] if conf.rbm_conf.bias_term else [])


def _rbm_hid(conf, in_shape: Shape, out_shape: Shape) -> Roles:
    hdim = conf.rbm_conf.hdim
    roles: Roles = [("weight", (hdim, math.prod(in_shape[1:])))]
    return roles + ([("bias", (hdim,))] if conf.rbm_conf.bias_term else [])


def _embedding(conf, in_shape: Shape, out_shape: Shape) -> Roles:
    return [("weight", (conf.embedding_conf.vocab_size, conf.embedding_conf.word_dim))]


def _gated(gates: int) -> Callable[..., Roles]:
    def rule(conf, in_shape: Shape, out_shape: Shape) -> Roles:
        h, d = conf.rnn_conf.dim, in_shape[-1]
        roles: Roles = [("weight_x", (gates * h, d)), ("weight_h", (gates * h, h))]
        return roles + ([("bias", (gates * h,))] if conf.rnn_conf.bias_term else [])
    return rule


PARAM_RULES: dict[str, Callable[..., Roles]] = {
    "kInnerProduct": _inner, "kConvolution": _conv, "kCConvolution": _conv,
    "kRBMVis": _rbm_vis, "kRBMHid": _rbm_hid, "kEmbedding": _embedding,
    "kRNN": _gated(1), "kGRU": _gated(3), "kLSTM": _gated(4),
}

# Under feature partitioning (partition_dim 1) a partition uses a block of each param: the axis cut.
def feature_axis(type_name: str, role: str, conf) -> int:
    """The param axis that follows the layer's output features."""
    if type_name == "kInnerProduct" and role == "weight" and conf.innerproduct_conf.transpose:
        return 1
    return 0
