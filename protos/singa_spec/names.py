"""The names users and logs give to the plan's enums: phases and node kinds."""
from __future__ import annotations

from singa_proto import job_pb2, plan_pb2

# phase name -> the job's Phase value (the train net always; validation and test when they have steps)
PHASES = {"train": job_pb2.kTrain, "validation": job_pb2.kVal, "test": job_pb2.kTest}
PHASE_NAMES = {value: name for name, value in PHASES.items()}

# node kind name (the compiler's graph attribute `kind`) -> the plan's NodeKind value
NODE_KINDS = {
    "compute": plan_pb2.kCompute,
    "slice": plan_pb2.kSliceNode,
    "concat": plan_pb2.kConcatNode,
    "split": plan_pb2.kSplitNode,
    "bridge_src": plan_pb2.kBridgeSrcNode,
    "bridge_dst": plan_pb2.kBridgeDstNode,
}
NODE_KIND_NAMES = {value: name for name, value in NODE_KINDS.items()}
