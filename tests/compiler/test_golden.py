"""Golden tests: small jobs in, the expected partitioned train graphs out (names, kinds, workers, shapes,
inputs, param blocks). Set SINGAC_UPDATE_GOLDEN=1 to rewrite the files after an intended change, then
read the diff."""
from __future__ import annotations

from pathlib import Path

import pytest
from singa_proto import plan_pb2

from ..golden import golden_text
from . import jobs
from .conftest import compile_text

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "data": jobs.mlp(2, 0),
    "feature": jobs.mlp(2, 1),
    "hybrid": jobs.mlp(2, 0, {"fc2": "partition_dim: 1"}),
    "location": jobs.mlp(2, -1, {"fc1": "location: 1", "tanh": "location: 1"}),
    "rbm": jobs.rbm(2, 0),
    "shared": jobs.autoencoder(2, 1),
    "conv-hybrid": jobs.convnet(2, 0, {"fc": "partition_dim: 1", "loss": "partition_dim: -1"}),
}


def describe(plan: plan_pb2.PlanProto) -> str:
    """The train graph, one node a line, in execution order."""
    lines = []
    for n in plan.graphs[0].nodes:
        kind = plan_pb2.NodeKind.Name(n.kind)
        params = " ".join(p.param + (f"[{p.block.axis}:{p.block.begin}:{p.block.end}]" if p.HasField("block")
                                     else "") for p in n.params)
        lines.append(f"{n.name} {kind} w{n.worker} {list(n.shape)} <- {', '.join(n.srcs) or '-'}"
                     + (f" | {params}" if params else ""))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_graph(case: str) -> None:
    got = describe(compile_text(CASES[case]))
    assert got == golden_text(GOLDEN / f"{case}.txt", got), f"{case}: the partitioned graph changed ({case}.txt)"
