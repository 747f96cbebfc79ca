"""Each pass on its own: idempotent, and the checker holds after it; the checker catches breakage."""
from __future__ import annotations

import networkx as nx
import pytest
from singac.check import CheckError, check_graph
from singac.graph import build_graph
from singac.parse import parse_job_text
from singac.pipeline import PASSES
from singac.source import Source

from . import jobs

NETS = {
    "mlp-hybrid": jobs.mlp(2, 0, {"fc2": "partition_dim: 1"}),
    "mlp-feature": jobs.mlp(3, 1),
    "conv-feature": jobs.convnet(2, 1),
    "autoencoder": jobs.autoencoder(2, 1),
    "rbm": jobs.rbm(2, 0),
    "lm-lstm": jobs.lm(2, "kLSTM"),
}


def graph_of(text: str) -> nx.DiGraph:
    job = parse_job_text(text, "job.pbtxt")
    return build_graph(job, "train", Source("job.pbtxt", text), job.cluster.nworkers_per_group)


def snapshot(g: nx.DiGraph) -> tuple:
    """Everything a pass may change, in a comparable form."""
    nodes = sorted((n, repr(sorted((k, repr(v)) for k, v in d.items()))) for n, d in g.nodes(data=True))
    edges = sorted((u, v, repr(sorted(e.items()))) for u, v, e in g.edges(data=True))
    extra = sorted((k, repr(v)) for k, v in g.graph.items() if k not in ("job", "source"))
    return nodes, edges, extra


@pytest.mark.parametrize("net", sorted(NETS))
def test_every_pass_is_idempotent_and_checked(net: str) -> None:
    g = graph_of(NETS[net])
    check_graph(g)
    for p in PASSES:
        once = p(g)
        check_graph(once)
        twice = p(once)
        assert snapshot(twice) == snapshot(once), f"{p.__name__} is not idempotent on {net}"
        g = once


def test_passes_do_not_modify_their_input() -> None:
    g = graph_of(NETS["mlp-hybrid"])
    for p in PASSES:
        before = snapshot(g)
        after = p(g)
        assert snapshot(g) == before, f"{p.__name__} changed its input graph"
        g = after


def _compiled(net: str) -> nx.DiGraph:
    g = graph_of(NETS[net])
    for p in PASSES:
        g = p(g)
    return g


def test_checker_rejects_an_edge_that_crosses_workers_without_a_bridge() -> None:
    g = _compiled("mlp-hybrid")
    u, v = next((u, v) for u, v in g.edges if g.nodes[u]["kind"] == "bridge_src")
    g.nodes[v]["worker"] = g.nodes[u]["worker"]
    w = next(iter(g.successors(v)))
    g.add_edge(u, w, **g.edges[v, w])
    g.remove_node(v)
    with pytest.raises(CheckError, match="crosses workers|bridge peer"):
        check_graph(g)


def test_checker_rejects_a_shape_mismatch_and_an_unknown_kind() -> None:
    g = _compiled("conv-feature")
    n = next(n for n, d in g.nodes(data=True) if d["kind"] == "concat")
    g.nodes[n]["shape"] = (1, 2)
    with pytest.raises(CheckError, match=n.replace("[", r"\[").replace("]", r"\]")):
        check_graph(g)
    g = _compiled("conv-feature")
    g.nodes["conv@00"]["kind"] = "teleport"
    with pytest.raises(CheckError, match="unknown kind"):
        check_graph(g)


def test_checker_rejects_a_cycle_but_accepts_the_rbm_pair() -> None:
    g = _compiled("rbm")
    check_graph(g)
    assert any(e.get("recurrent") for _, _, e in g.edges(data=True))
    g.add_edge("mnist@00", "data@00", slot=0, need={}, recurrent=False)
    g.add_edge("data@00", "mnist@00", slot=0, need={}, recurrent=False)
    with pytest.raises(CheckError, match="cycle"):
        check_graph(g)
