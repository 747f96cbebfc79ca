"""Which node outputs a backward pass brings a gradient to: one rule for the runtime's executor (which
skips the gradients nobody uses), the memory estimate (which counts their buffers) and the picture (which
counts the bytes a gradient sends back over a bridge)."""
from __future__ import annotations

from collections.abc import Iterable

from singa_proto import plan_pb2

from .layers import SPECS, layer_type


class GradientReach:
    """`reaches(name)`: whether some param lies upstream of node `name`'s output through layers that pass
    gradients (an input layer's output, say, needs none). Names outside the graph count as reached."""

    def __init__(self, nodes: Iterable[plan_pb2.Node]) -> None:
        self.nodes = {n.name: n for n in nodes}
        self._known: dict[str, bool] = {}

    def reaches(self, name: str) -> bool:
        if name not in self.nodes:
            return True
        if name not in self._known:
            self._known[name] = True  # provisional, in case a cyclic pair (RBM) leads back here
            self._known[name] = self._upstream(self.nodes[name])
        return self._known[name]

    def _upstream(self, node: plan_pb2.Node) -> bool:
        if node.kind == plan_pb2.kBridgeDstNode:
            return self.reaches(node.peer)
        if node.kind == plan_pb2.kCompute:
            spec = SPECS.get(layer_type(node.conf))
            if spec is not None and not spec.grad:
                return False
            if node.params:
                return True
        return any(self.reaches(s) for s in node.srcs)
