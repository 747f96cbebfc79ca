"""Build one networkx graph per phase from a job: nodes are the phase's layers, edges their sources."""
from __future__ import annotations

import heapq

import networkx as nx
from singa_proto import job_pb2
from singa_spec import SPECS, layer_type, spec_of
from singa_spec.names import PHASES

from .errors import at
from .parse import line_of
from .source import Source

# The training algorithms that back-propagate from a loss (kCD trains RBMs without one).
GRADIENT_ALGS = frozenset({job_pb2.kBP, job_pb2.kBPTT})

# Connection layers the passes insert; a job cannot declare them (it may declare kSplit and kConcate).
COMPILER_ONLY = frozenset({"kSlice", "kBridgeSrc", "kBridgeDst", "kStack"})


def build_graph(job: job_pb2.JobProto, phase: str, source: Source, num_partitions: int) -> nx.DiGraph:
    """The phase's layer graph, before any pass: one node per layer, one edge per source."""
    g = nx.DiGraph(phase=phase, job=job, source=source, num_partitions=num_partitions)
    layers = [lay for lay in job.neuralnet.layer if PHASES[phase] not in lay.exclude]
    for order, layer in enumerate(layers):
        _add_layer(g, layer, order, source)
    for layer in layers:
        _add_sources(g, job, layer, phase, source)
    _check_rbm_pairs(g, source)
    _mark_rbm_pairs(g)
    _check_acyclic(g, source)
    if phase == "train":
        _check_loss(g, job, source)
    return g


def _check_loss(g: nx.DiGraph, job: job_pb2.JobProto, source: Source) -> None:
    """Back-propagation (kBP, kBPTT) starts at a loss layer: a train net without one learns nothing."""
    alg = job.train_one_batch.alg
    if alg not in GRADIENT_ALGS or any(spec_of(d["type"]).loss for _, d in g.nodes(data=True)):
        return
    losses = sorted(name for name, spec in SPECS.items() if spec.loss)
    raise at(source.path, line_of(source.text, r"^\s*neuralnet\b"),
             f"the train net has no loss layer ({', '.join(losses)}); {job_pb2.AlgType.Name(alg)} starts "
             "its backward pass at one")


def _add_layer(g: nx.DiGraph, layer: job_pb2.LayerProto, order: int, source: Source) -> None:
    name = layer.name
    if name in g:
        raise source.layer_error(name, f"declared twice in the {g.graph['phase']} net")
    kind = layer_type(layer)
    if kind in COMPILER_ONLY:
        raise source.layer_error(name, f"{kind} layers are inserted by the compiler, not declared")
    if kind not in SPECS:
        raise source.layer_error(name, f"{_kind_text(layer)} is not a registered layer kind; "
                                 f"known: {', '.join(sorted(SPECS))}")
    g.add_node(name, kind="compute", type=kind, conf=layer, origin=name, order=order)


def _kind_text(layer: job_pb2.LayerProto) -> str:
    if layer.type != job_pb2.kUserLayer:
        return f"type {job_pb2.LayerType.Name(layer.type)}"
    return f"user layer type '{layer.user_type}'" if layer.user_type else "a kUserLayer without `user_type`"


def _add_sources(g: nx.DiGraph, job: job_pb2.JobProto, layer: job_pb2.LayerProto, phase: str,
                 source: Source) -> None:
    for slot, src in enumerate(layer.srclayers):
        if src not in g:
            elsewhere = any(lay.name == src for lay in job.neuralnet.layer)
            why = f"excluded from the {phase} net" if elsewhere else "no layer has that name"
            raise source.layer_error(layer.name, f"unknown srclayer '{src}' ({why})")
        if g.has_edge(src, layer.name):
            raise source.layer_error(layer.name, f"srclayer '{src}' is named twice")
        g.add_edge(src, layer.name, slot=slot)


PARTNER = {"visible": "hidden", "hidden": "visible"}


def _check_rbm_pairs(g: nx.DiGraph, source: Source) -> None:
    """Each RBM layer names its partner among its srclayers and is named back by it: CD runs the pair's
    phases together, and would otherwise find no partner only when the run starts."""
    kinds = {spec.pair: kind for kind, spec in SPECS.items() if spec.pair}
    for name, d in g.nodes(data=True):
        pair = spec_of(d["type"]).pair
        if not pair:
            continue
        partners = [src for src in g.pred[name] if spec_of(g.nodes[src]["type"]).pair == PARTNER[pair]]
        if not partners:
            raise source.layer_error(name, f"a {d['type']} layer needs its {kinds[PARTNER[pair]]} partner "
                                     "among its srclayers (an RBM pair names each other)")
        for partner in partners:
            if not g.has_edge(name, partner):
                raise source.layer_error(partner, f"the {d['type']} layer '{name}' names it as its partner: name "
                                         f"'{name}' among its srclayers too (an RBM pair names each other)")


def _mark_rbm_pairs(g: nx.DiGraph) -> None:
    """In an RBM pair (two layers naming each other), the hidden -> visible edge is the recurrent one."""
    for u, v in list(g.edges):
        pu, pv = spec_of(g.nodes[u]["type"]).pair, spec_of(g.nodes[v]["type"]).pair
        if g.has_edge(v, u) and pu and pv:
            back = (u, v) if pv == "visible" else (v, u)
            g.edges[back]["recurrent"] = True


def forward_view(g: nx.DiGraph) -> nx.DiGraph:
    """The graph without its declared recurrent edges (what must be acyclic)."""
    if not any(e.get("recurrent") for _, _, e in g.edges(data=True)):
        return g
    return nx.subgraph_view(g, filter_edge=lambda u, v: not g.edges[u, v].get("recurrent", False))


def with_graph_attrs(g: nx.DiGraph, **attrs) -> nx.DiGraph:
    """A new graph that shares `g`'s nodes and edges and has its graph attributes plus `attrs`.

    For passes that only add graph-level facts: copying 100,000 node dicts would cost more than the pass.
    Nodes and edges must not be changed through the result.
    """
    h = g.__class__()
    h.__dict__.update(g.__dict__)
    h.graph = {**g.graph, **attrs}
    return h


def _check_acyclic(g: nx.DiGraph, source: Source) -> None:
    try:
        cycle = nx.find_cycle(forward_view(g))
    except nx.NetworkXNoCycle:
        return
    names = [u for u, _ in cycle]
    raise source.layer_error(names[0], "cycle through layers " + " -> ".join(names + [names[0]])
                             + " (only an RBM visible/hidden pair may name each other)")


def execution_order(g: nx.DiGraph) -> list[str]:
    """A deterministic topological order: by declaration order, then partition, then name.

    Kahn's algorithm with a heap (networkx's lexicographical sort is several times slower on the
    100,000-node graphs of large partitioned nets); recurrent edges are ignored.
    """
    def key(n: str) -> tuple:
        d = g.nodes[n]
        return (d.get("order", 0), d.get("sub", 0), d.get("partition_id", 0), n)
    indeg = {n: 0 for n in g}
    for u, v, e in g.edges(data=True):
        if not e.get("recurrent"):
            indeg[v] += 1
    ready = [key(n) for n, k in indeg.items() if k == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        n = heapq.heappop(ready)[-1]
        order.append(n)
        for v, e in g.succ[n].items():
            if not e.get("recurrent"):
                indeg[v] -= 1
                if indeg[v] == 0:
                    heapq.heappush(ready, key(v))
    if len(order) != len(indeg):
        raise nx.NetworkXUnfeasible("the graph has a cycle")
    return order
