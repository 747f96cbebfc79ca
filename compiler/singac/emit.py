"""Emit the plan: every phase's partitioned graph in execution order, the param table, the cluster
topology, the rank -> role table, and the content hash."""
from __future__ import annotations

import networkx as nx
from singa_proto import job_pb2, plan_pb2
from singa_spec.names import NODE_KINDS, PHASES
from singa_spec.plans import FORMAT_VERSION, seal
from singa_spec.plugins import record

from .graph import execution_order


def emit_plan(job: job_pb2.JobProto, source: str, graphs: dict[str, nx.DiGraph]) -> plan_pb2.PlanProto:
    """The plan for a job whose phase graphs went through every pass."""
    train = graphs["train"]
    plan = plan_pb2.PlanProto(job=job, source=source, format_version=FORMAT_VERSION)
    for phase, g in graphs.items():
        plan.graphs.append(_phase_graph(phase, g))
    _emit_params(plan, graphs)
    topo = train.graph["topology"]
    plan.topology.cluster.CopyFrom(job.cluster)
    plan.topology.nworker_procs = topo["nworker_procs"]
    plan.topology.nserver_procs = topo["nserver_procs"]
    plan.topology.nprocs = topo["nprocs"]
    plan.topology.framework = topo["framework"]
    for role in train.graph["roles"]:
        r = plan.roles.add(rank=role["rank"])
        r.workers.extend(plan_pb2.ProcessRole.Executor(group=g, id=i) for g, i in role["workers"])
        r.servers.extend(plan_pb2.ProcessRole.Executor(group=g, id=i) for g, i in role["servers"])
    record(plan)  # singart loads the same plugins before it runs the plan
    return seal(plan)


def _phase_graph(phase: str, g: nx.DiGraph) -> plan_pb2.PhaseGraph:
    pg = plan_pb2.PhaseGraph(phase=PHASES[phase], num_partitions=g.graph["num_partitions"])
    for n in execution_order(g):
        _fill_node(pg.nodes.add(), g, n)
    return pg


def _fill_node(node: plan_pb2.Node, g: nx.DiGraph, n: str) -> None:
    d = g.nodes[n]
    node.name, node.kind, node.origin, node.worker = n, NODE_KINDS[d["kind"]], d["origin"], d["worker"]
    node.partition_id, node.partition_dim = d["partition_id"], d["partition_dim"]
    node.num_partitions = d["num_partitions"]
    node.shape.extend(d["shape"])
    node.origin_shape.extend(d["origin_shape"])
    preds = g.pred[n]
    node.srcs.extend(sorted(preds, key=lambda s: preds[s]["slot"]))
    for a, (lo, hi) in sorted(d["block"].items()):
        node.block.add(axis=a, begin=lo, end=hi)
    if d["kind"] == "compute":
        node.conf.CopyFrom(d["conf"])
        for role, param, block in d.get("params", []):
            ref = node.params.add(role=role, param=param)
            if block is not None:
                ref.block.CopyFrom(plan_pb2.Range(axis=block[0], begin=block[1], end=block[2]))
    if "cut" in d:
        node.cut.CopyFrom(d["cut"])
    if "axis" in d:
        node.axis = d["axis"]
    if "peer" in d:
        node.peer = d["peer"]


def _emit_params(plan: plan_pb2.PlanProto, graphs: dict[str, nx.DiGraph]) -> None:
    """One entry per declared param, train net's first; uses counted in the train net."""
    table: dict[str, dict] = {}
    for phase, g in graphs.items():
        for name, e in g.graph["params"].items():
            first = table.setdefault(name, e)
            if first["shape"] != e["shape"]:
                raise g.graph["source"].layer_error(
                    e["layer"], f"param '{name}' has shape {list(e['shape'])} in the {phase} net but "
                    f"{list(first['shape'])} in the train net (do the data layers' shapes differ?)")
    uses = _count_uses(graphs["train"])
    for pid, e in enumerate(table.values()):
        entry = plan.params.add(name=e["name"], layer=e["layer"], role=e["role"], shape=e["shape"],
                                id=pid, num_shares=uses.get(e["name"], 0))
        owner = table[e["owner"]]
        entry.conf.CopyFrom(owner["conf"])
        entry.conf.name = e["name"]
        if e["owner"] != e["name"]:
            entry.share_from = e["owner"]
        for sid, offset, size, server, group in e.get("slices", []):
            entry.slices.add(slice_id=sid, offset=offset, size=size, server=server, master_group=group)


def _count_uses(g: nx.DiGraph) -> dict[str, int]:
    uses: dict[str, int] = {}
    for _, d in g.nodes(data=True):
        for _, param, _ in d.get("params", []):
            uses[param] = uses.get(param, 0) + 1
    return uses
