"""Infer every layer's full (unpartitioned) output shape; adds the node attribute `shape`.

Shapes come from the data layer's batch size and record shape (the shard's first record, or
`sharddata_conf.shape` when the shard is absent), then flow through the per-type rules below.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import networkx as nx

from ..graph import execution_order, forward_view
from ..shard import first_record_shape
from ..source import Source

Shape = tuple[int, ...]


class ShapeError(Exception):
    """A shape rule's complaint; the pass turns it into an error naming the layer."""


def infer_shapes(g: nx.DiGraph) -> nx.DiGraph:
    """Set `shape` on every node, in execution order."""
    g = g.copy()
    source: Source = g.graph["source"]
    fwd = forward_view(g)
    for n in execution_order(g):
        d = g.nodes[n]
        if "shape" in d:
            continue
        srcs = sorted(fwd.predecessors(n), key=lambda s: g.edges[s, n]["slot"])
        ins = [g.nodes[s]["shape"] for s in srcs]
        try:
            shape = _rule(d["type"])(d["conf"], ins)
        except ShapeError as e:
            raise source.layer_error(d["origin"], str(e)) from None
        if any(x <= 0 for x in shape):
            raise source.layer_error(d["origin"], f"output shape {list(shape)} has a dimension <= 0 "
                                     f"(inputs {[list(s) for s in ins]})")
        d["shape"] = tuple(shape)
    return g


def _rule(type_name: str) -> Callable:
    if type_name not in SHAPE_RULES:
        raise ShapeError(f"no shape rule for {type_name}; known: {', '.join(sorted(SHAPE_RULES))}")
    return SHAPE_RULES[type_name]


def _arity(ins: list[Shape], n: int, what: str = "source layer") -> None:
    if len(ins) != n:
        raise ShapeError(f"expects {n} {what}{'s' if n != 1 else ''}, has {len(ins)}")


def _positive(value: int, field: str) -> int:
    if value <= 0:
        raise ShapeError(f"`{field}` must be positive, got {value}")
    return value


def _data(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 0)
    dc = conf.sharddata_conf if conf.HasField("sharddata_conf") else conf.lmdbdata_conf
    batch = _positive(dc.batchsize, "batchsize")
    record = first_record_shape(dc.path, conf.name) if dc.path else None
    if record is None:
        if not dc.shape:
            raise ShapeError(f"shard '{dc.path}' not found and the conf gives no `shape` "
                             "(create it with `singart data`, or add `shape:` lines)")
        record = tuple(dc.shape)
    elif dc.shape and _flat(record) != _flat(tuple(dc.shape)):
        raise ShapeError(f"shard '{dc.path}' holds records of shape {list(record)}, but the conf says "
                         f"`shape` {list(dc.shape)}")
    return (batch, *record)


def _flat(shape: Shape) -> Shape:
    """The shape without its 1-sized dims ([1, 28, 28] and [28, 28] hold the same records)."""
    return tuple(x for x in shape if x != 1)


def _label(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 1)
    return (ins[0][0],)


def _mnist(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 1)
    batch, *rec = ins[0]
    return (batch, 1, *rec) if len(rec) == 2 else (batch, *rec)


def _image(shape: Shape, what: str) -> Shape:
    if len(shape) != 4:
        raise ShapeError(f"{what} needs a 4-D input (batch, channels, height, width), got {list(shape)}")
    return shape


def _rgb(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 1)
    b, c, h, w = _image(ins[0], "kRGBImage")
    crop = conf.rgbimage_conf.cropsize
    if crop > min(h, w):
        raise ShapeError(f"cropsize {crop} is larger than the image ({h}x{w})")
    return (b, c, crop, crop) if crop else (b, c, h, w)


def _conv(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 1)
    b, _, h, w = _image(ins[0], "convolution")
    cc = conf.convolution_conf
    k, s, p = _positive(cc.kernel, "kernel"), _positive(cc.stride, "stride"), cc.pad
    nf = _positive(cc.num_filters, "num_filters")
    return (b, nf, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)


def _pool(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 1)
    b, c, h, w = _image(ins[0], "pooling")
    pc = conf.pooling_conf
    k, s = _positive(pc.kernel, "kernel"), _positive(pc.stride, "stride")
    return (b, c, (h - k) // s + 1, (w - k) // s + 1)  # SINGA v0.1 pools without padding, rounding down


def _same(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 1)
    return ins[0]


def _lrn(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 1)
    if conf.lrn_conf.local_size % 2 == 0:
        raise ShapeError(f"lrn_conf.local_size must be odd, got {conf.lrn_conf.local_size}")
    return _image(ins[0], "kLRN")


def _inner(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 1)
    return (ins[0][0], _positive(conf.innerproduct_conf.num_output, "num_output"))


def _softmax_loss(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 2, "source layer (prediction, label)")
    pred, label = ins
    if label != (pred[0],):
        raise ShapeError(f"labels {list(label)} do not match the prediction rows {list(pred)}")
    classes = math.prod(pred[1:])
    if not 1 <= conf.softmaxloss_conf.topk <= classes:
        raise ShapeError(f"topk {conf.softmaxloss_conf.topk} is not within 1..{classes} (the classes)")
    return (pred[0], classes)


def _euclidean(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 2, "source layer (prediction, target)")
    pred, target = ins
    if pred[0] != target[0] or math.prod(pred[1:]) != math.prod(target[1:]):
        raise ShapeError(f"prediction {list(pred)} and target {list(target)} differ in size")
    return (pred[0], math.prod(pred[1:]))


def _rbm_vis(conf, ins: list[Shape]) -> Shape:
    if not ins:
        raise ShapeError("kRBMVis needs its input layer as the first srclayer")
    _positive(conf.rbm_conf.hdim, "rbm_conf.hdim")
    return (ins[0][0], math.prod(ins[0][1:]))


def _rbm_hid(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 1, "source layer (the visible layer)")
    return (ins[0][0], _positive(conf.rbm_conf.hdim, "rbm_conf.hdim"))


def _embedding(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 1)
    _positive(conf.embedding_conf.vocab_size, "embedding_conf.vocab_size")
    return (*ins[0], _positive(conf.embedding_conf.word_dim, "embedding_conf.word_dim"))


def _recurrent(conf, ins: list[Shape]) -> Shape:
    _arity(ins, 1)
    if len(ins[0]) != 3:
        raise ShapeError(f"recurrent layers need a 3-D input (batch, time, features), got {list(ins[0])}")
    return (ins[0][0], ins[0][1], _positive(conf.rnn_conf.dim, "rnn_conf.dim"))


def _concate(conf, ins: list[Shape]) -> Shape:
    if not ins:
        raise ShapeError("kConcate needs at least one source layer")
    axis = conf.concate_conf.concate_dim
    rest = {tuple(s[:axis] + s[axis + 1:]) for s in ins}
    if len(rest) != 1 or any(len(s) <= axis for s in ins):
        raise ShapeError(f"inputs {[list(s) for s in ins]} cannot be joined along dim {axis}")
    first = ins[0]
    return (*first[:axis], sum(s[axis] for s in ins), *first[axis + 1:])


def _prefetch(conf, ins: list[Shape]) -> Shape:
    raise ShapeError("kPrefetch is not supported (it was a stub in SINGA v0.1.0); use kShardData")


SHAPE_RULES: dict[str, Callable[..., Shape]] = {
    "kShardData": _data, "kLMDBData": _data, "kPrefetch": _prefetch,
    "kLabel": _label, "kMnist": _mnist, "kRGBImage": _rgb,
    "kConvolution": _conv, "kCConvolution": _conv, "kPooling": _pool, "kCPooling": _pool,
    "kReLU": _same, "kSTanh": _same, "kSigmoid": _same, "kTanh": _same, "kDropout": _same,
    "kLRN": _lrn, "kInnerProduct": _inner,
    "kSoftmaxLoss": _softmax_loss, "kEuclideanLoss": _euclidean,
    "kRBMVis": _rbm_vis, "kRBMHid": _rbm_hid,
    "kEmbedding": _embedding, "kRNN": _recurrent, "kGRU": _recurrent, "kLSTM": _recurrent,
    "kConcate": _concate, "kSplit": _same,
}
