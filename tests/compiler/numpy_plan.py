"""A pure-NumPy interpreter of plans (float64): the executable definition of what a plan computes.

It runs a phase graph forward and backward, moving blocks through slice, concat, split and bridge
nodes exactly as the plan says, and returns the loss and the gradient of every param. The compiler's
contract is that every partitioning of a net gives the same loss and gradients as the unpartitioned net.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from singa_proto import job_pb2, plan_pb2


@dataclass
class Batch:
    """A data layer's output: inputs and labels, cut and joined by rows together."""

    x: np.ndarray
    y: np.ndarray

    def cut(self, axis: int, lo: int, hi: int) -> Batch:
        assert axis == 0, "data is only ever cut by rows"
        return Batch(self.x[lo:hi], self.y[lo:hi])


def full_data(shape: list[int], seed: int) -> Batch:
    """The whole batch a data layer reads (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    return Batch(rng.uniform(0, 4, size=shape), rng.integers(0, 4, size=shape[0]))


def init_params(plan: plan_pb2.PlanProto, seed: int) -> dict[str, np.ndarray]:
    """Random values for every owner param (shares use their owner's)."""
    rng = np.random.default_rng(seed)
    return {p.name: rng.normal(0, 0.5, size=tuple(p.shape)) for p in plan.params if not p.share_from}


def _rows(node: plan_pb2.Node) -> tuple[int, int]:
    for r in node.block:
        if r.axis == 0:
            return r.begin, r.end
    return 0, node.origin_shape[0]


def _block(value: np.ndarray, ref: plan_pb2.ParamRef) -> np.ndarray:
    if not ref.HasField("block"):
        return value
    idx = [slice(None)] * value.ndim
    idx[ref.block.axis] = slice(ref.block.begin, ref.block.end)
    return value[tuple(idx)]


def _conv_cols(x: np.ndarray, k: int, pad: int, stride: int) -> tuple[np.ndarray, int, int]:
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    cols = np.empty((n, c, k, k, ho, wo))
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride]
    return cols.reshape(n, c * k * k, ho * wo), ho, wo


def forward(node: plan_pb2.Node, ins: list, ps: list[np.ndarray], data: Batch) -> object:
    """One compute node's output (a differentiable function of `ins` and `ps`, see `backward`)."""
    t = job_pb2.LayerType.Name(node.conf.type)
    if t == "kShardData":
        return data.cut(0, *_rows(node))
    if t == "kMnist":
        x = ins[0].x / node.conf.mnist_conf.norm_a - node.conf.mnist_conf.norm_b
        return x.reshape(x.shape[0], 1, *x.shape[1:])
    if t == "kLabel":
        return ins[0].y
    if t == "kInnerProduct":
        x = ins[0].reshape(ins[0].shape[0], -1)
        w = ps[0].T if node.conf.innerproduct_conf.transpose else ps[0]
        return x @ w.T + (ps[1] if len(ps) > 1 else 0)
    if t == "kConvolution":
        cc = node.conf.convolution_conf
        cols, ho, wo = _conv_cols(ins[0], cc.kernel, cc.pad, cc.stride)
        y = np.einsum("fk,nkp->nfp", ps[0], cols) + ps[1][None, :, None]
        return y.reshape(y.shape[0], y.shape[1], ho, wo)
    if t == "kPooling":
        n, c, h, w = ins[0].shape
        k = node.conf.pooling_conf.kernel
        return ins[0][:, :, :h // k * k, :w // k * k].reshape(n, c, h // k, k, w // k, k).max(axis=(3, 5))
    if t in ("kSTanh", "kTanh", "kSigmoid", "kReLU"):
        return ELTWISE[t](ins[0])
    if t == "kConcate":
        return np.concatenate(ins, axis=node.conf.concate_conf.concate_dim)
    if t == "kSoftmaxLoss":
        z = ins[0] - ins[0].max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -logp[np.arange(len(ins[1])), ins[1]].sum() / node.origin_shape[0]
    if t == "kEuclideanLoss":
        d = ins[0].reshape(ins[0].shape[0], -1) - ins[1].reshape(ins[1].shape[0], -1)
        return 0.5 * (d ** 2).sum() / node.origin_shape[0]
    raise NotImplementedError(t)


ELTWISE = {
    "kSTanh": lambda x: 1.7159 * np.tanh(2 * x / 3), "kTanh": np.tanh,
    "kSigmoid": lambda x: 1 / (1 + np.exp(-x)), "kReLU": lambda x: np.maximum(x, 0),
}

DERIV = {
    "kSTanh": lambda x: 1.7159 * 2 / 3 * (1 - np.tanh(2 * x / 3) ** 2), "kTanh": lambda x: 1 - np.tanh(x) ** 2,
    "kSigmoid": lambda x: ELTWISE["kSigmoid"](x) * (1 - ELTWISE["kSigmoid"](x)),
    "kReLU": lambda x: (x > 0).astype(float),
}


def backward(node: plan_pb2.Node, ins: list, ps: list[np.ndarray], dy) -> tuple[list, list]:
    """(input gradients, param gradients) of one compute node, given its output's gradient."""
    t = job_pb2.LayerType.Name(node.conf.type)
    if t in ("kShardData", "kMnist", "kLabel"):
        return [None] * len(ins), []
    if t in ELTWISE:
        return [dy * DERIV[t](ins[0])], []
    if t == "kInnerProduct":
        x = ins[0].reshape(ins[0].shape[0], -1)
        tr = node.conf.innerproduct_conf.transpose
        w = ps[0].T if tr else ps[0]
        dw = dy.T @ x
        return [(dy @ w).reshape(ins[0].shape)], [dw.T if tr else dw] + ([dy.sum(0)] if len(ps) > 1 else [])
    if t == "kConvolution":
        return _conv_backward(node, ins[0], ps, dy)
    if t == "kPooling":
        k = node.conf.pooling_conf.kernel
        up = np.repeat(np.repeat(forward(node, ins, ps, None), k, 2), k, 3)
        dx = np.zeros_like(ins[0])
        h, w = up.shape[2], up.shape[3]
        dx[:, :, :h, :w] = (ins[0][:, :, :h, :w] == up) * np.repeat(np.repeat(dy, k, 2), k, 3)
        return [dx], []
    if t == "kConcate":
        axis = node.conf.concate_conf.concate_dim
        edges = np.cumsum([0] + [x.shape[axis] for x in ins])
        return [_cut(dy, plan_pb2.Range(axis=axis, begin=a, end=b)) for a, b in pairwise(edges)], []
    if t == "kSoftmaxLoss":
        z = np.exp(ins[0] - ins[0].max(axis=1, keepdims=True))
        p = z / z.sum(axis=1, keepdims=True)
        p[np.arange(len(ins[1])), ins[1]] -= 1
        return [p / node.origin_shape[0], None], []
    if t == "kEuclideanLoss":
        d = ins[0].reshape(ins[0].shape[0], -1) - ins[1].reshape(ins[1].shape[0], -1)
        return [(d / node.origin_shape[0]).reshape(ins[0].shape), None], []
    raise NotImplementedError(t)


def _conv_backward(node, x, ps, dy):
    cc = node.conf.convolution_conf
    k, pad, s = cc.kernel, cc.pad, cc.stride
    cols, ho, wo = _conv_cols(x, k, pad, s)
    d = dy.reshape(dy.shape[0], dy.shape[1], -1)
    dw, db = np.einsum("nfp,nkp->fk", d, cols), d.sum(axis=(0, 2))
    dcols = np.einsum("fk,nfp->nkp", ps[0], d).reshape(x.shape[0], x.shape[1], k, k, ho, wo)
    dxp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * pad, x.shape[3] + 2 * pad))
    for i in range(k):
        for j in range(k):
            dxp[:, :, i:i + s * ho:s, j:j + s * wo:s] += dcols[:, :, i, j]
    return [dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]], [dw, db]


def _cut(value, r: plan_pb2.Range):
    if isinstance(value, Batch):
        return value.cut(r.axis, r.begin, r.end)
    idx = [slice(None)] * value.ndim
    idx[r.axis] = slice(r.begin, r.end)
    return value[tuple(idx)]


def _join(values: list, axis: int):
    if isinstance(values[0], Batch):
        return Batch(np.concatenate([v.x for v in values]), np.concatenate([v.y for v in values]))
    return np.concatenate(values, axis=axis)


def run(plan: plan_pb2.PlanProto, phase: int, params: dict[str, np.ndarray], data: Batch):
    """(loss, {param: gradient}) of one phase graph of the plan, forward then backward."""
    graph = next(g for g in plan.graphs if g.phase == phase)
    out: dict[str, object] = {}
    for node in graph.nodes:
        ins = [out[s] for s in node.srcs]
        out[node.name] = _forward_node(node, ins, params, data)
    losses = {n.name for n in graph.nodes if n.kind == plan_pb2.kCompute
              and job_pb2.LayerType.Name(n.conf.type) in ("kSoftmaxLoss", "kEuclideanLoss")}
    grads = {p: np.zeros_like(v) for p, v in params.items()}
    dout: dict[str, np.ndarray] = {}
    for node in reversed(graph.nodes):
        dy = dout.get(node.name)
        if dy is None and node.name not in losses:
            continue
        for src, dx in zip(node.srcs, _backward_node(node, [out[s] for s in node.srcs], params, dy, grads)):
            if dx is not None:
                dout[src] = dout[src] + dx if src in dout else dx
    return sum(out[n] for n in losses), grads


def _forward_node(node, ins, params, data):
    if node.kind == plan_pb2.kCompute:
        return forward(node, ins, [_block(params[r.param], r) for r in node.params], data)
    if node.kind == plan_pb2.kSliceNode:
        return _cut(ins[0], node.cut)
    if node.kind == plan_pb2.kConcatNode:
        return _join(ins, node.axis)
    return ins[0]  # split and bridges hand the same tensor on


def _backward_node(node, ins, params, dy, grads) -> list:
    if node.kind == plan_pb2.kCompute:
        dxs, dps = backward(node, ins, [_block(params[r.param], r) for r in node.params], dy)
        for ref, dp in zip(node.params, dps):
            _block(grads[ref.param], ref)[...] += dp
        return dxs
    if node.kind == plan_pb2.kSliceNode:
        dx = np.zeros_like(ins[0])
        _cut(dx, node.cut)[...] = dy
        return [dx]
    if node.kind == plan_pb2.kConcatNode:
        edges = np.cumsum([0] + [x.shape[node.axis] for x in ins])
        return [_cut(dy, plan_pb2.Range(axis=node.axis, begin=a, end=b)) for a, b in pairwise(edges)]
    return [dy]
