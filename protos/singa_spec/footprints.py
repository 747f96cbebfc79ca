"""Per-node memory rules: the bytes each plan node's step keeps at the batch size, and each param's
gradient buffers, as the runtime allocates and writes them (memory.py adds them up).

Every tensor is float32 (labels int32: the same size). Kernel workspaces are those of oneDNN: max pooling's argmax per output value, LRN's
scale per input value.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from singa_proto import job_pb2, plan_pb2

from .gradients import GradientReach
from .layers import layer_type

FLOAT = 4
Shape = tuple[int, ...]
# kinds whose layers take channels-last inputs as they come (runtime layers' `channels_last`)
CHANNELS_LAST = frozenset({"kConvolution", "kCConvolution", "kPooling", "kCPooling", "kReLU", "kSigmoid",
                           "kTanh", "kSTanh", "kSplit"})
KEEPS_LAYOUT = frozenset({"kPooling", "kCPooling", "kReLU", "kSigmoid", "kTanh", "kSTanh", "kSplit"})


def nbytes(shape: Iterable[int]) -> int:
    """Bytes of a float32 tensor of `shape`."""
    return FLOAT * math.prod(int(d) for d in shape)


class Net:
    """One phase graph with what the rules ask of it: shapes, consumers, which outputs get gradients,
    which lie channels-last."""

    def __init__(self, graph: plan_pb2.PhaseGraph, train: bool,
                 params: Iterable[plan_pb2.ParamEntry] = ()) -> None:
        self.graph, self.train = graph, train
        self.nodes = {n.name: n for n in graph.nodes}
        self.entries = {e.name: e for e in params}
        self.consumers: dict[str, list[plan_pb2.Node]] = {}
        for n in graph.nodes:
            for s in n.srcs:
                self.consumers.setdefault(s, []).append(n)
        self._grad = GradientReach(graph.nodes)
        self._nhwc: dict[str, bool] = {}

    def shape(self, name: str) -> Shape:
        return tuple(int(d) for d in self.nodes[name].shape) if name in self.nodes else ()

    def workers(self) -> list[int]:
        return sorted({n.worker for n in self.graph.nodes})

    def param_shape(self, name: str) -> Shape:
        return tuple(int(d) for d in self.entries[name].shape) if name in self.entries else ()

    def first_users(self) -> dict[str, str]:
        """Owner param -> the first node (in execution order) that uses it."""
        first: dict[str, str] = {}
        for n in self.graph.nodes:
            for ref in n.params:
                first.setdefault(owner_of(self.entries, ref.param), n.name)
        return first

    def replicated(self, node: plan_pb2.Node) -> bool:
        """Whether `node` is one of the replicas, one per worker, of an untransposed inner product whose
        whole weight no other node uses: they compute together (folding.share_replicas)."""
        if not self.train or node.conf.type != job_pb2.kInnerProduct or node.conf.innerproduct_conf.transpose:
            return False
        weight = next((r for r in node.params if r.role == "weight"), None)
        if weight is None or weight.HasField("block"):
            return False
        owner = owner_of(self.entries, weight.param)
        users = [n.worker for n in self.graph.nodes for r in n.params if owner_of(self.entries, r.param) == owner]
        return len(self.workers()) > 1 and sorted(users) == self.workers()

    def gets_grad(self, name: str) -> bool:
        """Whether backward brings a gradient to `name`'s output (in training; gradients.py)."""
        return self.train and name in self.nodes and self._grad.reaches(name)

    def channels_last(self, name: str) -> bool:
        """Whether `name`'s output lies channels-last: convolutions write it, pooling, element-wise
        layers, splits, row cuts and bridges keep their input's layout. The chain of layout keepers is
        walked in a loop, not by recursion, so that a net of any depth has an estimate."""
        chain: list[str] = []
        at: str | bool = name
        while isinstance(at, str) and at not in self._nhwc:
            self._nhwc[at] = False  # in progress: a cycle (an RBM's pair) reads it as not channels-last
            chain.append(at)
            at = self._layout_source(at)
        value = at if isinstance(at, bool) else self._lies_nhwc(at)
        for n in reversed(chain):
            self._nhwc[n] = value
            value = self._lies_nhwc(n)
        return value

    def _layout_source(self, name: str) -> str | bool:
        """The node whose output layout `name` keeps, or whether `name` itself writes channels-last."""
        node = self.nodes[name]
        kind = layer_type(node.conf) if node.kind == plan_pb2.kCompute else ""
        if kind in ("kConvolution", "kCConvolution"):
            return True
        if node.kind == plan_pb2.kBridgeDstNode:
            return node.peer if node.peer in self.nodes else False
        if node.srcs and (kind in KEEPS_LAYOUT or _passes_layout(node)):
            return node.srcs[0]
        return False

    def _lies_nhwc(self, name: str) -> bool:
        return self._nhwc[name] and _both_layouts_differ(self.shape(name))


def _passes_layout(node: plan_pb2.Node) -> bool:
    return node.kind in (plan_pb2.kSplitNode, plan_pb2.kBridgeSrcNode) or (
        node.kind == plan_pb2.kSliceNode and node.cut.axis == 0)


def _both_layouts_differ(shape: Shape) -> bool:
    """A 4-D array with C = 1 or H = W = 1 is NCHW and channels-last at once."""
    return len(shape) == 4 and shape[1] > 1 and shape[2] * shape[3] > 1


def owner_of(entries: dict[str, plan_pb2.ParamEntry], name: str) -> str:
    """The param whose values `name` uses (itself unless it shares another's)."""
    seen = set()
    while name in entries and entries[name].share_from and name not in seen:
        seen.add(name)
        name = entries[name].share_from
    return name


Rule = Callable[[Net, plan_pb2.Node], int]


def _out(net: Net, node: plan_pb2.Node) -> int:
    return nbytes(node.shape)


def _in(net: Net, node: plan_pb2.Node, i: int = 0) -> int:
    return nbytes(net.shape(node.srcs[i])) if len(node.srcs) > i else 0


def _dx(net: Net, node: plan_pb2.Node) -> int:
    """The input gradient's buffer, kept when a gradient reaches the input."""
    return _in(net, node) if node.srcs and net.gets_grad(node.srcs[0]) else 0


def _elementwise(net: Net, node: plan_pb2.Node) -> int:
    """y, and dx whenever backward runs (element-wise layers always compute it)."""
    return _out(net, node) * (2 if net.gets_grad(node.name) else 1)


def _replica(net: Net, node: plan_pb2.Node) -> int:
    """An inner product replica computing with the other workers' (folding.ReplicaShare) keeps the whole
    batch's input, its block of the output and of the output's gradient, and its part of every dx."""
    if not net.replicated(node):
        return 0
    rows, n = int((node.origin_shape or node.shape)[0]), len(net.workers())
    vdim, cols = math.prod(net.shape(node.srcs[0])[1:]), int(node.shape[-1]) // n
    part = rows * vdim if net.gets_grad(node.srcs[0]) else 0
    return FLOAT * (rows * vdim + 2 * rows * cols + part)


def _pooling(net: Net, node: plan_pb2.Node) -> int:
    ws = _out(net, node) if node.conf.pooling_conf.pool == job_pb2.PoolingProto.MAX else 0
    return _out(net, node) + ws + (_in(net, node) if net.gets_grad(node.name) else 0)


def _lrn(net: Net, node: plan_pb2.Node) -> int:
    return _out(net, node) + _in(net, node) + (_in(net, node) if net.gets_grad(node.name) else 0)


def _dropout(net: Net, node: plan_pb2.Node) -> int:
    """Training: the mask, y, the full layer's draw, dx; otherwise the input is handed on."""
    if not net.train:
        return 0
    dx = _out(net, node) if net.gets_grad(node.name) else 0
    return 2 * _out(net, node) + nbytes(node.origin_shape or node.shape) + dx


def _loss(net: Net, node: plan_pb2.Node) -> int:
    """Probabilities (or differences), and the gradient when training."""
    return _out(net, node) * (2 if net.train else 1)


# bytes a compute node of each kind keeps, by kind; other kinds: y, and dx when backward runs
ACTIVATIONS: dict[str, Rule] = {
    "kShardData": lambda net, node: 0,  # its batches are views of the decoded shard (memory.py)
    "kLabel": _out,
    "kMnist": _out,
    "kTokens": _out,
    "kRGBImage": lambda net, node: _out(net, node) + _in(net, node),  # float copy, then the crop
    "kConvolution": lambda net, node: _out(net, node) + _dx(net, node),
    "kCConvolution": lambda net, node: _out(net, node) + _dx(net, node),
    "kInnerProduct": lambda net, node: _out(net, node) + _dx(net, node) + _replica(net, node),
    "kPooling": _pooling,
    "kCPooling": _pooling,
    "kLRN": _lrn,
    "kDropout": _dropout,
    "kSoftmaxLoss": _loss,
    "kEuclideanLoss": _loss,
    "kConcate": _out,
    "kSplit": lambda net, node: 0,
}


def node_bytes(net: Net, node: plan_pb2.Node) -> int:
    """What one node's step keeps: its layer's buffers, or a connection node's, plus layout copies and
    the sum of its consumers' gradients."""
    if node.kind == plan_pb2.kCompute:
        kind = layer_type(node.conf)
        own = ACTIVATIONS.get(kind, _elementwise)(net, node) + _copies(net, node, kind)
    elif node.kind == plan_pb2.kSliceNode:
        own = _in(net, node) if net.gets_grad(node.name) else 0  # backward's zero-padded gradient
    elif node.kind == plan_pb2.kConcatNode:
        own = _out(net, node)
    else:
        own = 0  # splits hand on references; in one process a bridge passes them too
    senders = [c for c in net.consumers.get(node.name, []) if net.gets_grad(node.name)]
    return own + (_out(net, node) if len(senders) > 1 else 0)


def _copies(net: Net, node: plan_pb2.Node, kind: str) -> int:
    """Layout copies: a layer that takes NCHW copies channels-last inputs and column cuts; a layer that
    keeps its input's channels-last layout copies a gradient a consumer returns in NCHW."""
    total = 0
    if kind not in CHANNELS_LAST:
        for s in node.srcs:
            src = net.nodes.get(s)
            cut = src is not None and src.kind == plan_pb2.kSliceNode and src.cut.axis != 0
            if net.channels_last(s) or cut:
                total += nbytes(net.shape(s))
    elif net.gets_grad(node.name) and net.channels_last(node.name) and any(
            c.kind == plan_pb2.kCompute and layer_type(c.conf) not in CHANNELS_LAST
            for c in net.consumers.get(node.name, [])):
        total += _out(net, node)
    return total


def block_copy(ref: plan_pb2.ParamRef, net: Net) -> int:
    """A node's own copy of a param block that is not a view (a block of columns)."""
    if not ref.HasField("block") or ref.block.axis == 0:
        return 0
    return _block_bytes(ref, net)


def _block_bytes(ref: plan_pb2.ParamRef, net: Net) -> int:
    shape = list(net.param_shape(owner_of(net.entries, ref.param)))
    if ref.HasField("block") and len(shape) > ref.block.axis:
        shape[ref.block.axis] = ref.block.end - ref.block.begin
    return nbytes(shape)


class Gradients:
    """One train group's gradient buffers and the updater's state per param (store.py, folding.py,
    params/updaters.py). Both are made with np.zeros_like, which writes its zeros: they are counted
    whole whether or not a step writes them."""

    def __init__(self, net: Net, fold: bool) -> None:
        self.net, self.fold = net, fold
        self.refs: dict[str, list[tuple[plan_pb2.Node, plan_pb2.ParamRef]]] = {}
        for n in net.graph.nodes:
            for ref in n.params:
                self.refs.setdefault(self.owner(ref.param), []).append((n, ref))

    def owner(self, name: str) -> str:
        return owner_of(self.net.entries, name)

    def buffer(self, ref: plan_pb2.ParamRef) -> int:
        """A node's own gradient buffer: for a block, or for a param with several users (one user of
        a whole param writes the group's gradient itself)."""
        if ref.HasField("block") or len(self.refs[self.owner(ref.param)]) > 1:
            return _block_bytes(ref, self.net)
        return 0

    def store(self, param: str) -> int:
        """The group's gradient of `param` (summed over its users)."""
        return nbytes(self.net.param_shape(param)) if param in self.refs else 0

    def folded(self, param: str) -> bool:
        """Whether every update of `param` is folded into its inner products' weight GEMMs (plain SGD,
        whole weights): the updater then never keeps state for it."""
        uses = self.refs.get(param, [])
        return self.fold and bool(uses) and all(_ip_weight(n, r) and not r.HasField("block") for n, r in uses)


def _ip_weight(node: plan_pb2.Node, ref: plan_pb2.ParamRef) -> bool:
    return node.kind == plan_pb2.kCompute and node.conf.type == job_pb2.kInnerProduct and ref.role == "weight"
