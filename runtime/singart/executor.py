"""Runs one worker's nodes of a phase graph: forward in execution order, backward in reverse.

Each node kind of the plan (compute, slice, concat, split, bridge_src, bridge_dst) has one step class
in STEPS; the executor is a loop that dispatches on it. Outputs are passed by reference; whenever a
node's output has several consumers their gradients are summed before its backward runs.
"""
from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from singa_proto import plan_pb2
from singa_spec import SingaError, layer_type, spec_of
from singa_spec.gradients import GradientReach
from singa_spec.names import NODE_KIND_NAMES

from . import layout
from .connection import ChannelSet
from .finite import NonFinite, first_nonfinite, nonfinite_metric
from .folding import weight_fold
from .layers import Layer, LayerContext, make_layer
from .layers.base import PartGrad
from .layers.loss import LossLayer
from .store import ParamStore


def cut_index(r: plan_pb2.Range) -> tuple[slice, ...]:
    """The numpy index of a Range: all of the axes before it, [begin, end) along it."""
    return (slice(None),) * r.axis + (slice(r.begin, r.end),)


def take(x: Any, r: plan_pb2.Range) -> Any:
    """A block of a tensor (a view) or of a record batch (rows only)."""
    if isinstance(x, np.ndarray):
        return x[cut_index(r)]
    if r.axis != 0:
        raise SingaError(f"a record batch can only be cut along rows, not axis {r.axis}")
    return x.rows(r.begin, r.end)


def join(parts: list[Any], axis: int) -> Any:
    """Concatenate tensors along `axis`, or record batches along rows."""
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts, axis=axis)
    return type(parts[0]).concat(parts)


class Env:
    """What every step of one worker's executor shares: the plan, the params, the bridges."""

    def __init__(self, graph: plan_pb2.PhaseGraph, store: ParamStore, channels: ChannelSet,
                 seed: int, train: bool) -> None:
        self.nodes = {n.name: n for n in graph.nodes}
        self.store, self.channels, self.seed, self.train = store, channels, seed, train
        self.gradients = GradientReach(graph.nodes)
        self.shared = SharedGrads(store)

    def needs_grad(self, name: str) -> bool:
        """Whether backward must bring a gradient to node `name`'s output (singa_spec.gradients)."""
        return self.gradients.reaches(name)


class SharedGrads:
    """One gradient buffer a param for the steps of one executor whose layers add into their gradients
    (the unrolled copies of a recurrent layer): zeroed before the step's first adds, handed to the store
    once, for all its users, when the last of them has added (or at the end of backward)."""

    def __init__(self, store: ParamStore) -> None:
        self.store = store
        self.buffers: dict[str, np.ndarray] = {}
        self.users: Counter[str] = Counter()
        self.added_in: dict[str, tuple[int, int]] = {}  # param -> (step, users that added so far)
        self.refs: dict[str, plan_pb2.ParamRef] = {}

    def buffer(self, ref: plan_pb2.ParamRef) -> np.ndarray:
        """The buffer of `ref`'s param, one more user counted."""
        if ref.param not in self.buffers:
            self.buffers[ref.param], self.refs[ref.param] = self.store.grad_buffer(ref), ref
        self.users[ref.param] += 1
        return self.buffers[ref.param]

    def begin(self, ref: plan_pb2.ParamRef, step: int) -> None:
        """A user is about to add at `step`: the first one zeroes the buffer."""
        if self.added_in.get(ref.param, (None, 0))[0] != step:
            self.buffers[ref.param].fill(0)
            self.added_in[ref.param] = (step, 0)

    def added(self, ref: plan_pb2.ParamRef, step: int) -> None:
        """A user has added: the last one hands the sum to the store."""
        _, n = self.added_in[ref.param]
        self.added_in[ref.param] = (step, n + 1)
        if n + 1 == self.users[ref.param]:
            self.flush(ref.param, step)

    def flush(self, name: str, step: int) -> None:
        """Hand the buffer to the store for the users that added at `step` (none: nothing)."""
        at, n = self.added_in.get(name, (None, 0))
        if at == step and n:
            self.store.add_grad(self.refs[name], self.buffers[name], step, users=n)
            self.added_in[name] = (step, 0)

    def flush_all(self, step: int) -> None:
        """The end of backward: hand over what users that did not all run have added."""
        for name in self.buffers:
            self.flush(name, step)


class Step:
    """One node's forward and backward. backward returns one gradient (or None) per src."""

    def __init__(self, node: plan_pb2.Node, env: Env) -> None:
        self.node, self.env = node, env

    def forward(self, inputs: list[Any], step: int) -> Any:
        raise NotImplementedError

    def backward(self, dy: Any, step: int) -> list[Any]:
        raise NotImplementedError

    def wants_backward(self, dy: Any) -> bool:
        """Whether backward runs this step: only when a gradient reached the node."""
        return dy is not None


@contextmanager
def layer_errors(node: plan_pb2.Node) -> Iterator[None]:
    """Turn a layer's ValueError (a conf, shard or batch it cannot run with) into a one-line SingaError
    naming the user's layer."""
    try:
        yield
    except ValueError as err:
        msg = str(err)
        raise SingaError(msg if msg.startswith("layer ") else f"layer {node.origin or node.name}: {msg}") from None


class ComputeStep(Step):
    """A user layer (or one partition of it), with its param blocks."""

    def __init__(self, node: plan_pb2.Node, env: Env) -> None:
        super().__init__(node, env)
        in_shapes = tuple(tuple(int(d) for d in env.nodes[s].shape) for s in node.srcs)
        ctx = LayerContext(node=node, in_shapes=in_shapes, seed=env.seed, train=env.train)
        kind = layer_type(node.conf)
        with layer_errors(node):
            self.spec = spec_of(kind)
            self.layer: Layer = make_layer(kind, ctx)
        self.layer.needs_dx = [env.needs_grad(s) for s in node.srcs]  # skip gradients nobody uses
        self.refs = list(node.params)
        self.bufs = [env.store.block_buffer(r) for r in self.refs]
        self.pooled = [self.layer.adds_grads and not r.HasField("block") for r in self.refs]
        self.grads = ([env.shared.buffer(r) if pooled else env.store.grad_buffer(r)
                       for r, pooled in zip(self.refs, self.pooled)] if env.train else [])
        self.fold = weight_fold(self.layer, self.refs, env.store) if env.train else None
        self._copies: dict[Any, np.ndarray] = {}  # kept across steps: fresh pages are slow

    def dense(self, slot: Any, x: Any) -> Any:
        """An array as the layer takes it: C-contiguous, or channels-last where the layer takes that
        (layout.py); a cut of columns, or channels-last for a layer that wants NCHW, is copied into the
        slot's buffer (cuts of rows stay views)."""
        if not isinstance(x, np.ndarray) or x.flags.c_contiguous:
            return x
        if self.layer.channels_last and layout.is_dense(x):
            return x
        buf = self._copies.get(slot)
        if buf is None or buf.shape != x.shape or buf.dtype != x.dtype:
            buf = self._copies[slot] = np.empty(x.shape, x.dtype)
        np.copyto(buf, x)
        return buf

    def forward(self, inputs: list[Any], step: int) -> Any:
        params = [self.env.store.fetch(r, b) for r, b in zip(self.refs, self.bufs)]
        with layer_errors(self.node):
            return self.layer.forward([self.dense(i, x) for i, x in enumerate(inputs)], params, step)

    def wants_backward(self, dy: Any) -> bool:
        return self.spec.grad and (dy is not None or self.spec.loss)  # backward starts at the losses

    def backward(self, dy: Any, step: int) -> list[Any]:
        if self.fold is not None:
            self.fold.offer(step)
        for ref, pooled in zip(self.refs, self.pooled):
            if pooled:
                self.env.shared.begin(ref, step)
        with layer_errors(self.node):
            dxs = self.layer.backward(self.dense("dy", dy), self.grads)
        for i, (ref, g) in enumerate(zip(self.refs, self.grads)):
            if self.pooled[i]:
                self.env.shared.added(ref, step)
            elif self.fold is not None and self.fold.took(i):
                self.env.store.folded(ref, step)
            else:
                self.env.store.add_grad(ref, g, step)
        return list(dxs)


class SliceStep(Step):
    """Cuts `node.cut` out of its input (a view); backward writes into that range of a zero gradient."""

    def __init__(self, node: plan_pb2.Node, env: Env) -> None:
        super().__init__(node, env)
        self.index = cut_index(node.cut)
        self.dx: np.ndarray | None = None  # zero outside the cut, so only the cut is rewritten

    def forward(self, inputs: list[Any], step: int) -> Any:
        return take(inputs[0], self.node.cut)

    def backward(self, dy: Any, step: int) -> list[Any]:
        if self.dx is None:
            shape = tuple(int(d) for d in self.env.nodes[self.node.srcs[0]].shape)
            self.dx = np.zeros(shape, dtype=np.asarray(dy).dtype)
        self.dx[self.index] = dy
        return [self.dx]


class ConcatStep(Step):
    """Joins its inputs along `node.axis`; backward cuts the gradient back into their blocks."""

    def forward(self, inputs: list[Any], step: int) -> Any:
        self.sizes = [int(x.shape[self.node.axis]) if isinstance(x, np.ndarray) else len(x) for x in inputs]
        return join(inputs, self.node.axis)

    def backward(self, dy: Any, step: int) -> list[Any]:
        bounds = np.cumsum([0, *self.sizes])
        lead = (slice(None),) * self.node.axis
        return [dy[lead + (slice(int(a), int(b)),)] for a, b in itertools.pairwise(bounds)]


class SplitStep(Step):
    """Hands its input to several consumers; their gradients arrive summed, so backward passes it on."""

    def forward(self, inputs: list[Any], step: int) -> Any:
        return inputs[0]

    def backward(self, dy: Any, step: int) -> list[Any]:
        return [dy]


class BridgeSrcStep(Step):
    """Sends its input to the peer bridge_dst; backward waits for the gradient coming back."""

    def __init__(self, node: plan_pb2.Node, env: Env) -> None:
        super().__init__(node, env)
        self.channel = env.channels.get(node.name)

    def forward(self, inputs: list[Any], step: int) -> Any:
        self.channel.forward.put(inputs[0])
        return inputs[0]

    def wants_backward(self, dy: Any) -> bool:
        return True  # the peer always answers, so that both threads stay in step

    def backward(self, dy: Any, step: int) -> list[Any]:
        return [self.channel.backward.get()]


class BridgeDstStep(Step):
    """Receives the peer bridge_src's tensor; backward sends the gradient (or None) back."""

    def __init__(self, node: plan_pb2.Node, env: Env) -> None:
        super().__init__(node, env)
        self.channel = env.channels.get(node.peer)

    def forward(self, inputs: list[Any], step: int) -> Any:
        return self.channel.forward.get()

    def wants_backward(self, dy: Any) -> bool:
        return True

    def backward(self, dy: Any, step: int) -> list[Any]:
        self.channel.backward.put(dy)
        return []


STEPS: dict[int, type[Step]] = {
    plan_pb2.kCompute: ComputeStep,
    plan_pb2.kSliceNode: SliceStep,
    plan_pb2.kConcatNode: ConcatStep,
    plan_pb2.kSplitNode: SplitStep,
    plan_pb2.kBridgeSrcNode: BridgeSrcStep,
    plan_pb2.kBridgeDstNode: BridgeDstStep,
}


class GradSums:
    """The gradients arriving at each node's output during backward, summed when there are several."""

    def __init__(self) -> None:
        self._grads: dict[str, Any] = {}
        self._owned: set[str] = set()  # sums we allocated, safe to add into in place

    def add(self, name: str, grad: Any) -> None:
        """Add one consumer's gradient of `name`'s output (a PartGrad adds only its block)."""
        if isinstance(grad, PartGrad):
            self._own(name, grad)[grad.index] += grad.value
        elif name not in self._grads:
            self._grads[name] = grad
        elif name in self._owned:
            np.add(self._grads[name], grad, out=self._grads[name])
        else:
            self._grads[name] = self._grads[name] + grad
            self._owned.add(name)

    def _own(self, name: str, part: PartGrad) -> np.ndarray:
        """The sum of `name` as an array of our own to add blocks into: zeros, or a copy of the first
        gradient that came (the consumers' buffers are theirs)."""
        if name not in self._grads:
            self._grads[name] = np.zeros(part.shape, part.value.dtype)
        elif name not in self._owned:
            self._grads[name] = np.array(self._grads[name], dtype=part.value.dtype)
        self._owned.add(name)
        return self._grads[name]

    def pop(self, name: str) -> Any:
        """The summed gradient of `name`'s output (None when none arrived)."""
        self._owned.discard(name)
        return self._grads.pop(name, None)


class Executor:
    """One worker's share of a phase graph, built once and run every step."""

    def __init__(self, graph: plan_pb2.PhaseGraph, worker: int, store: ParamStore, channels: ChannelSet,
                 seed: int, train: bool) -> None:
        env = Env(graph, store, channels, seed, train)
        mine = [n for n in graph.nodes if n.worker == worker]
        for n in mine:
            check_node(n, env, worker)
        self.worker, self.env = worker, env
        self.steps = [(n, STEPS[n.kind](n, env)) for n in mine]
        order = {n.name: i for i, n in enumerate(mine)}
        # sources that run after their consumer (the hid -> vis edge of an RBM's pair): given as None
        self.later = {n.name: {s for s in n.srcs if order.get(s, -1) > order[n.name]} for n in mine}
        self.losses = [st.layer for _, st in self.steps if isinstance(st, ComputeStep)
                       and isinstance(st.layer, LossLayer)]

    def forward(self, step: int) -> dict[str, Any]:
        """Run every node forward in execution order; returns the outputs by node name. A source that
        comes later in the order (the recurrent edge of an RBM's pair) gives None."""
        outs: dict[str, Any] = {}
        for node, st in self.steps:
            bridged = node.kind == plan_pb2.kBridgeDstNode
            later = self.later[node.name]
            outs[node.name] = st.forward([] if bridged else [None if s in later else outs[s] for s in node.srcs],
                                         step)
        return outs

    def check_finite(self, step: int, outs: dict[str, Any]) -> None:
        """Raise NonFinite when this step's loss is NaN or infinite, before backward makes updates of it;
        the error names the first layer whose output went non-finite."""
        for layer in self.losses:
            bad = nonfinite_metric(layer.pending())
            if bad is not None:
                where = first_nonfinite((n for n, _ in self.steps), outs, self.env.nodes)
                raise NonFinite(step, f"{bad} (first non-finite output: layer '{where}')" if where else bad)

    def backward(self, step: int) -> None:
        """Run backward in reverse order, summing gradients where an output has several consumers."""
        sums = GradSums()
        for node, st in reversed(self.steps):
            dy = sums.pop(node.name)
            if not st.wants_backward(dy):
                continue
            for src, g in zip(node.srcs, st.backward(dy, step)):
                if g is not None:
                    sums.add(src, g)
        self.env.shared.flush_all(step)

    def metrics(self) -> dict[str, tuple[float, int]]:
        """The loss layers' metrics since the last call: {name: (sum, count)}."""
        total: dict[str, tuple[float, int]] = {}
        for _, st in self.steps:
            if isinstance(st, ComputeStep):
                for name, (s, c) in st.layer.metrics().items():
                    s0, c0 = total.get(name, (0.0, 0))
                    total[name] = (s0 + float(s), c0 + int(c))
        return total


def check_node(node: plan_pb2.Node, env: Env, worker: int) -> None:
    """A node's kind must be known and its srcs on its own worker (other workers only across a bridge)."""
    if node.kind not in STEPS:
        raise SingaError(f"plan node {node.name}: unknown node kind {node.kind}; known: "
                         f"{', '.join(NODE_KIND_NAMES.values())}")
    if node.kind == plan_pb2.kBridgeDstNode:
        return
    for s in node.srcs:
        if s not in env.nodes:
            raise SingaError(f"plan node {node.name}: source {s!r} is not in the graph")
        if env.nodes[s].worker != worker:
            raise SingaError(f"plan node {node.name} on worker {worker} reads {s} on worker "
                             f"{env.nodes[s].worker} without a bridge")
