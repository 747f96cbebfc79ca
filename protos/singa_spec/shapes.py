"""Output shape rules of the layer kinds: (conf, input shapes in srclayers order) -> output shape.

Shapes are whole (unpartitioned), batch first. A rule raises ShapeError with a message about the
layer's own conf or inputs; the compiler adds the file, line and layer name. A data layer's rule
reads its record shape from the conf's `shape` (the compiler fills that in from the shard first).
"""
from __future__ import annotations

import math
from typing import Any

from singa_proto import job_pb2

Shape = tuple[int, ...]

# Plans store shapes, param offsets and slice sizes as int32, and the GPU GEMM (cuBLAS) takes int
# sizes, so no tensor of a net, activation or param, may hold more elements than an int32 counts.
MAX_ELEMENTS = 2**31 - 1


class ShapeError(Exception):
    """A shape rule's complaint about a layer's conf or inputs."""


def arity(ins: list[Shape], n: int, what: str = "source layer") -> None:
    """Inputs must number exactly `n`."""
    if len(ins) != n:
        raise ShapeError(f"expects {n} {what}{'s' if n != 1 else ''}, has {len(ins)}")


def positive(value: int, field: str) -> int:
    """A conf value that must be positive."""
    if value <= 0:
        raise ShapeError(f"`{field}` must be positive, got {value}")
    return value


def fits(shape: Shape, what: str, hint: str) -> None:
    """A tensor must hold at most MAX_ELEMENTS elements; `hint` says which field to lower."""
    size = math.prod(shape)
    if size > MAX_ELEMENTS:
        raise ShapeError(f"{what} {list(shape)} has {size} elements, more than the {MAX_ELEMENTS} a "
                         f"tensor may hold (32-bit sizes in plans and GEMM kernels); lower {hint}")


def image(shape: Shape, what: str) -> Shape:
    """A 4-D (batch, channels, height, width) input."""
    if len(shape) != 4:
        raise ShapeError(f"{what} needs a 4-D input (batch, channels, height, width), got {list(shape)}")
    return shape


def data(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 0)
    dc = conf.sharddata_conf if conf.HasField("sharddata_conf") else conf.lmdbdata_conf
    batch = positive(dc.batchsize, "batchsize")
    if not dc.shape:
        raise ShapeError(f"shard '{dc.path}' not found and the conf gives no `shape` "
                         "(create it with `singart data`, or add `shape:` lines)")
    return (batch, *dc.shape)


def prefetch(conf: Any, ins: list[Shape]) -> Shape:
    raise ShapeError("kPrefetch is not supported (it was a stub in SINGA v0.1.0); use kShardData")


def label(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 1)
    return (ins[0][0],)


def mnist(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 1)
    batch, *rec = ins[0]
    return (batch, 1, *rec) if len(rec) == 2 else (batch, *rec)


def rgb_image(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 1)
    b, c, h, w = image(ins[0], "kRGBImage")
    crop = conf.rgbimage_conf.cropsize
    if crop > min(h, w):
        raise ShapeError(f"cropsize {crop} is larger than the image ({h}x{w})")
    return (b, c, crop, crop) if crop else (b, c, h, w)


def convolution(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 1)
    b, _, h, w = image(ins[0], "convolution")
    cc = conf.convolution_conf
    k, s, p = positive(cc.kernel, "kernel"), positive(cc.stride, "stride"), cc.pad
    nf = positive(cc.num_filters, "num_filters")
    return (b, nf, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)


def pooling(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 1)
    b, c, h, w = image(ins[0], "pooling")
    pc = conf.pooling_conf
    k, s = positive(pc.kernel, "kernel"), positive(pc.stride, "stride")
    return (b, c, (h - k) // s + 1, (w - k) // s + 1)  # SINGA v0.1 pools without padding, rounding down


def same(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 1)
    return ins[0]


def lrn(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 1)
    if conf.lrn_conf.local_size % 2 == 0:
        raise ShapeError(f"lrn_conf.local_size must be odd, got {conf.lrn_conf.local_size}")
    return image(ins[0], "kLRN")


def inner_product(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 1)
    return (ins[0][0], positive(conf.innerproduct_conf.num_output, "num_output"))


def softmax_loss(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 2, "source layer (prediction, label)")
    pred, labels = ins
    if any(x != 1 for x in pred[2:]):  # SINGA would flatten them: an image's pixels taken for classes
        raise ShapeError(f"prediction {list(pred)} is {len(pred)}-D; kSoftmaxLoss needs (batch, classes) "
                         "rows (feed it from a kInnerProduct with num_output = the number of classes)")
    if labels != (pred[0],):
        raise ShapeError(f"labels {list(labels)} do not match the prediction rows {list(pred)}")
    classes = math.prod(pred[1:])
    if not 1 <= conf.softmaxloss_conf.topk <= classes:
        raise ShapeError(f"topk {conf.softmaxloss_conf.topk} is not within 1..{classes} (the classes)")
    return (pred[0], classes)


def euclidean_loss(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 2, "source layer (prediction, target)")
    pred, target = ins
    if pred[0] != target[0] or math.prod(pred[1:]) != math.prod(target[1:]):
        raise ShapeError(f"prediction {list(pred)} and target {list(target)} differ in size")
    return (pred[0], math.prod(pred[1:]))


def rbm_vis(conf: Any, ins: list[Shape]) -> Shape:
    if not ins:
        raise ShapeError("kRBMVis needs its input layer as the first srclayer")
    positive(conf.rbm_conf.hdim, "rbm_conf.hdim")
    return (ins[0][0], math.prod(ins[0][1:]))


def rbm_hid(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 1, "source layer (the visible layer)")
    return (ins[0][0], positive(conf.rbm_conf.hdim, "rbm_conf.hdim"))


def embedding(conf: Any, ins: list[Shape]) -> Shape:
    arity(ins, 1)
    positive(conf.embedding_conf.vocab_size, "embedding_conf.vocab_size")
    return (*ins[0], positive(conf.embedding_conf.word_dim, "embedding_conf.word_dim"))


def recurrent(conf: Any, ins: list[Shape]) -> Shape:
    """(batch, time, features) -> one row per batch item and time step, batch-major: (batch * time,
    dim). An unrolled copy (unroll_step > 0) gives its step's state: h, and for an LSTM h and c."""
    if not ins or len(ins[0]) != 3:
        raise ShapeError("recurrent layers need a 3-D input (batch, time, features), got "
                         f"{list(ins[0]) if ins else 'none'}")
    batch, time, _ = ins[0]
    dim = positive(conf.rnn_conf.dim, "rnn_conf.dim")
    if conf.unroll_step > 0:
        return (batch, state_size(conf))
    arity(ins, 1)
    return (batch * time, dim)


def state_size(conf: Any) -> int:
    """The width of a recurrent cell's state: h, or h and c side by side for an LSTM."""
    return conf.rnn_conf.dim * (2 if conf.type == job_pb2.kLSTM else 1)


def stack(conf: Any, ins: list[Shape]) -> Shape:
    """An unrolled layer's steps' states -> its rows (batch * time, dim), as the layer gives them."""
    if not ins or len({s for s in ins}) != 1:
        raise ShapeError(f"kStack needs its steps' states, all of one shape, got {[list(s) for s in ins]}")
    return (ins[0][0] * len(ins), conf.rnn_conf.dim)


def tokens(conf: Any, ins: list[Shape]) -> Shape:
    """Windows of time + 1 ids -> (batch, time) inputs, or (batch * time) next-token labels."""
    arity(ins, 1)
    if len(ins[0]) != 2 or ins[0][1] < 2:
        raise ShapeError(f"kTokens needs records of at least 2 token ids (a window of unroll_len + 1), "
                         f"got {list(ins[0][1:])}")
    batch, time = ins[0][0], ins[0][1] - 1
    return (batch * time,) if conf.tokens_conf.next else (batch, time)


def concate(conf: Any, ins: list[Shape]) -> Shape:
    if not ins:
        raise ShapeError("kConcate needs at least one source layer")
    axis = conf.concate_conf.concate_dim
    rest = {tuple(s[:axis] + s[axis + 1:]) for s in ins}
    if len(rest) != 1 or any(len(s) <= axis for s in ins):
        raise ShapeError(f"inputs {[list(s) for s in ins]} cannot be joined along dim {axis}")
    first = ins[0]
    return (*first[:axis], sum(s[axis] for s in ins), *first[axis + 1:])
