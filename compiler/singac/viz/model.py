"""The view model of one phase of a plan: nodes, labelled edges, params per worker and per server, topology."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from singa_proto import plan_pb2
from singa_spec import SingaError, layer_type
from singa_spec.gradients import GradientReach
from singa_spec.kinds import runs_backward
from singa_spec.names import NODE_KIND_NAMES, PHASES

from .procs import Placement, ProcTraffic, placement_of, process_traffic
from .traffic import BYTES_PER_ELEMENT, Traffic, bridge_traffic, param_traffic


@dataclass
class VNode:
    """One drawn node: a plan node, or (collapsed) all partitions of one."""

    name: str
    kind: str
    type: str
    origin: str
    shape: tuple[int, ...]
    workers: tuple[int, ...]
    whole: bool  # an unpartitioned layer in a partitioned graph
    params: tuple[str, ...] = ()
    count: int = 1
    peer: int = -1  # a bridge's worker at the other end

    @property
    def worker(self) -> int:
        return self.workers[0]


@dataclass
class VEdge:
    """One drawn edge: the tensor `src` hands `dst`; `cross` when it leaves the worker."""

    src: str
    dst: str
    shape: tuple[int, ...]
    nbytes: int  # per step, both directions when the phase runs backward
    cross: bool
    back: bool = False  # points against execution order (an RBM's hidden -> visible)
    count: int = 1


@dataclass
class Topology:
    """The cluster the plan runs on, in the words of a legend."""

    nworker_groups: int
    nworkers_per_group: int
    nserver_groups: int
    nservers_per_group: int
    nprocs: int
    framework: str


@dataclass
class View:
    """Everything the picture shows of one phase."""

    job: str
    phase: str
    nodes: list[VNode]
    edges: list[VEdge]
    topology: Topology
    directions: int  # 2 when gradients travel back over every edge, else 1
    worker_params: dict[int, list[str]] = field(default_factory=dict)
    server_slices: dict[int, list[str]] = field(default_factory=dict)
    traffic: Traffic = field(default_factory=Traffic)
    placement: Placement = field(default_factory=lambda: Placement({0: []}, {0: []}))
    procs: ProcTraffic = field(default_factory=ProcTraffic)  # bytes between processes, every group's
    collapsed: bool = False

    @property
    def cross_bytes(self) -> int:
        return sum(e.nbytes for e in self.edges if e.cross)

    @property
    def workers(self) -> list[int]:
        return sorted({w for n in self.nodes for w in n.workers})


def find_graph(plan: plan_pb2.PlanProto, phase: str) -> plan_pb2.PhaseGraph:
    """The plan's graph of `phase` ('train', 'validation', 'test'); a SingaError names the phases there are."""
    present = [name for name, value in PHASES.items() if any(g.phase == value for g in plan.graphs)]
    if phase not in PHASES or PHASES[phase] not in [g.phase for g in plan.graphs]:
        raise SingaError(f"unknown phase '{phase}': this plan has {', '.join(present) or 'no graphs'}")
    return next(g for g in plan.graphs if g.phase == PHASES[phase])


def build_view(plan: plan_pb2.PlanProto, phase: str = "train", hosts: dict[int, str] | None = None) -> View:
    """The view of one phase of `plan`; `hosts` (rank -> host, from a hosts file) places its processes."""
    graph = find_graph(plan, phase)
    # a train step whose algorithm runs backward also sends every activation's gradient back
    directions = 2 if phase == "train" and runs_backward(plan.job.train_one_batch) else 1
    worker_of = {n.name: n.worker for n in graph.nodes}
    nodes = [to_vnode(n, graph.num_partitions, worker_of.get(n.peer, -1)) for n in graph.nodes]
    view = View(
        job=plan.job.name or "(unnamed job)",
        phase=phase,
        nodes=nodes,
        edges=build_edges(graph, directions),
        topology=to_topology(plan.topology),
        directions=directions,
    )
    view.worker_params = params_by_worker(graph)
    view.server_slices = slices_by_server(plan)
    view.traffic = param_traffic(plan, graph) if phase == "train" else Traffic()
    view.traffic.bridges = bridge_traffic(crossing(graph, directions))
    view.placement = placement_of(plan)
    view.placement.hosts = dict(hosts or {})
    view.procs = process_traffic(plan, graph, view.placement, view.traffic.bridges, phase == "train")
    return view


def crossing(graph: plan_pb2.PhaseGraph, directions: int) -> list[tuple[int, int, int, int]]:
    """(src worker, dst worker, activation bytes, directions) of every edge that crosses workers; a
    gradient comes back only to an output that needs one (not to an input layer's, say)."""
    worker = {n.name: n.worker for n in graph.nodes}
    shape = {n.name: n.shape for n in graph.nodes}
    grads = GradientReach(graph.nodes)
    return [(worker[s], n.worker, math.prod(shape[s]) * BYTES_PER_ELEMENT,
             directions if grads.reaches(s) else 1)
            for n in graph.nodes for s in n.srcs if s in worker and worker[s] != n.worker]


def to_vnode(node: plan_pb2.Node, num_partitions: int, peer: int = -1) -> VNode:
    """A drawn node from a plan node."""
    kind = NODE_KIND_NAMES.get(node.kind, "compute")
    kind_type = layer_type(node.conf) if kind == "compute" and node.HasField("conf") else kind
    whole = kind == "compute" and num_partitions > 1 and max(node.num_partitions, 1) == 1
    return VNode(
        name=node.name,
        kind=kind,
        type=kind_type,
        origin=node.origin or node.name,
        shape=tuple(node.shape),
        workers=(node.worker,),
        whole=whole,
        params=tuple(param_label(p) for p in node.params),
        peer=peer,
    )


def build_edges(graph: plan_pb2.PhaseGraph, directions: int) -> list[VEdge]:
    """One edge per (producer, consumer input), labelled with the producer's output shape."""
    by_name = {n.name: n for n in graph.nodes}
    order = {n.name: i for i, n in enumerate(graph.nodes)}
    grads = GradientReach(graph.nodes)
    edges = []
    for node in graph.nodes:
        for src_name in node.srcs:
            src = by_name.get(src_name)
            if src is None:
                raise SingaError(f"plan node '{node.name}' reads '{src_name}', which is not in its graph")
            cross = src.worker != node.worker
            ways = directions if grads.reaches(src_name) else 1  # no gradient back to an input layer
            nbytes = math.prod(src.shape) * BYTES_PER_ELEMENT * ways if cross else 0
            back = order[src_name] >= order[node.name]
            edges.append(VEdge(src_name, node.name, tuple(src.shape), nbytes, cross, back))
    return edges


def param_label(ref: plan_pb2.ParamRef) -> str:
    """'w4' for a whole param, 'w4[0:5]' for rows, 'w4[:,0:5]' for columns of it."""
    if not ref.HasField("block"):
        return ref.param
    lead = ":," * ref.block.axis
    return f"{ref.param}[{lead}{ref.block.begin}:{ref.block.end}]"


def params_by_worker(graph: plan_pb2.PhaseGraph) -> dict[int, list[str]]:
    """For each worker, the params (or blocks of them) its nodes use, in first-use order."""
    held: dict[int, list[str]] = {}
    for node in graph.nodes:
        names = held.setdefault(node.worker, [])
        names.extend(label for label in map(param_label, node.params) if label not in names)
    return {w: held[w] for w in sorted(held)}


def slices_by_server(plan: plan_pb2.PlanProto) -> dict[int, list[str]]:
    """For each server (id within a server group), the param slices it owns: 'w1[0:1200)'."""
    owned: dict[int, list[str]] = {}
    for entry in plan.params:
        for s in entry.slices:
            text = entry.name if s.size == math.prod(entry.shape) else f"{entry.name}[{s.offset}:{s.offset + s.size})"
            owned.setdefault(s.server, []).append(text)
    return {s: owned[s] for s in sorted(owned)}


def to_topology(topo: plan_pb2.Topology) -> Topology:
    """The legend's view of the plan's topology."""
    c = topo.cluster
    return Topology(
        nworker_groups=c.nworker_groups,
        nworkers_per_group=c.nworkers_per_group,
        nserver_groups=c.nserver_groups,
        nservers_per_group=c.nservers_per_group,
        nprocs=topo.nprocs or 1,
        framework=topo.framework,
    )
