"""singac viz: the SVG and DOT pictures of compiled examples, checked for structure, geometry and goldens."""
from __future__ import annotations

import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
import singac
from singa_proto import plan_pb2
from singac.viz import build_view, collapse_view, render
from singac.viz.grid import build_grid
from singac.viz.layout import layout_grid
from singac.viz.style import WORKER_COLOURS

from ..golden import golden_text

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden_viz"
NS = {"s": "http://www.w3.org/2000/svg"}
KINDS = {plan_pb2.kCompute: "compute", plan_pb2.kSliceNode: "slice", plan_pb2.kConcatNode: "concat",
         plan_pb2.kSplitNode: "split", plan_pb2.kBridgeSrcNode: "bridge_src", plan_pb2.kBridgeDstNode: "bridge_dst"}

# (example job, workers per group, a layer to partition on features): the pictures kept as goldens.
EXAMPLES = {
    "mnist_mlp_w2": ("examples/mnist/job.pbtxt", 2, None),
    "mnist_lenet_w1": ("examples/mnist/lenet.pbtxt", 1, None),
    "cifar10_w4_conv3_features": ("examples/cifar10/job.pbtxt", 4, "conv3"),
    "rbm1_w1": ("examples/rbm/rbm1.pbtxt", 1, None),
    "rbm2_w2": ("examples/rbm/rbm2.pbtxt", 2, None),
    "autoencoder_w1": ("examples/rbm/autoencoder.pbtxt", 1, None),
}


def variant(tmp: Path, example: str, workers: int, feature_layer: str | None) -> Path:
    """A copy of an example job with `workers` per group, and one layer partitioned on features."""
    text = (ROOT / example).read_text()
    text = text.replace("cluster {", f"cluster {{\n  nworkers_per_group: {workers}\n"
                        f"  nworkers_per_procs: {workers}", 1)
    if feature_layer:
        text = text.replace(f'name: "{feature_layer}"\n', f'name: "{feature_layer}"\n    partition_dim: 1\n', 1)
    path = tmp / f"{Path(example).stem}-{workers}.pbtxt"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def cifar(tmp_path_factory: pytest.TempPathFactory) -> plan_pb2.PlanProto:
    """CIFAR-10 over 4 workers, conv3 split on features: every kind of connection node appears."""
    return singac.compile_file(str(variant(tmp_path_factory.mktemp("viz"), *EXAMPLES["cifar10_w4_conv3_features"])))


def svg_tree(plan: plan_pb2.PlanProto, phase: str = "train", collapse: bool = False) -> ET.Element:
    return ET.fromstring(render(plan, ".svg", phase, collapse))


def graph_of(plan: plan_pb2.PlanProto, phase: int = 1) -> plan_pb2.PhaseGraph:
    return next(g for g in plan.graphs if g.phase == phase)


def drawn_nodes(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{{{NS['s']}}}g") if "node" in g.get("class", "").split()]


def test_every_node_drawn_once_with_its_kind(cifar):
    graph = graph_of(cifar)
    drawn = drawn_nodes(svg_tree(cifar))
    assert Counter(g.get("data-name") for g in drawn) == Counter(n.name for n in graph.nodes)
    kinds = {g.get("data-name"): g.get("data-kind") for g in drawn}
    assert kinds == {n.name: KINDS[n.kind] for n in graph.nodes}
    assert {"slice", "concat", "split", "bridge_src", "bridge_dst"} <= set(kinds.values())


def test_nodes_coloured_by_worker_and_shaped_by_kind(cifar):
    workers = {n.name: n.worker for n in graph_of(cifar).nodes}
    for g in drawn_nodes(svg_tree(cifar)):
        shape = g.find("s:*[@class='shape']", NS)
        assert shape is not None
        assert shape.tag.endswith("rect" if g.get("data-kind") == "compute" else "polygon"), g.get("data-name")
        fill, stroke = WORKER_COLOURS[workers[g.get("data-name")]]
        assert shape.get("stroke") == stroke
        assert shape.get("fill") == ("#ffffff" if "whole" in g.get("class") else fill)
        assert f"worker-{workers[g.get('data-name')]}" in g.get("class").split()


def test_edges_labelled_with_shapes_and_crossing_bytes(cifar):
    graph = graph_of(cifar)
    by_name = {n.name: n for n in graph.nodes}
    root = svg_tree(cifar)
    labels: dict[tuple[str, str], list[str]] = {}
    for t in root.iter(f"{{{NS['s']}}}text"):
        if t.get("class") == "elabel":
            labels.setdefault((t.get("data-src"), t.get("data-dst")), []).append(t.text)
    edges = [(s, n.name) for n in graph.nodes for s in n.srcs]
    assert len([p for p in root.iter(f"{{{NS['s']}}}path") if "edge" in p.get("class", "")]) == len(edges)
    total = 0
    for src, dst in edges:
        shape = "x".join(map(str, by_name[src].shape))
        assert labels[(src, dst)][0] == shape
        if by_name[src].worker != by_name[dst].worker:
            nbytes = math.prod(by_name[src].shape) * 4 * 2  # forward activation + backward gradient
            total += nbytes
            assert labels[(src, dst)][1].endswith("B/step")
    assert total > 0
    assert build_view(cifar).cross_bytes == total


def test_header_names_job_topology_and_traffic(cifar):
    texts = [t.text for t in svg_tree(cifar).iter(f"{{{NS['s']}}}text")]
    assert texts[0] == "cifar10-convnet - train phase"
    assert "1 worker group x 4 workers" in texts[1]
    assert cifar.topology.framework and texts[1].endswith(cifar.topology.framework)
    assert re.match(r"bridges: [\d.]+ [KMG]?B/step on \d+ edges .*, params: [\d.]+ [KMG]?B/step", texts[3])


def test_side_panel_lists_params_per_worker_and_slices_per_server(cifar):
    texts = [t.text for t in svg_tree(cifar).iter(f"{{{NS['s']}}}text") if t.get("class") == "worker-params"]
    for w in range(4):
        line = next(t for t in texts if t.startswith(f"worker {w}: "))
        assert "w3[" in line  # conv3 is split on features: each worker holds a block of w3
    assert any(t.text.startswith("server 0: ") for t in svg_tree(cifar).iter(f"{{{NS['s']}}}text")
               if t.get("class") == "server-slices")


def test_layout_has_no_overlaps_and_no_edge_through_a_box(cifar):
    grid = build_grid(build_view(cifar))
    lay = layout_grid(grid)
    for r, row in enumerate(grid.rows):
        spans = sorted((it.x, it.x + it.w) for it in row)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), f"row {r} overlaps"
    boxes = [(it, it.x, lay.row_top[r], it.x + it.w, lay.row_top[r] + lay.row_h[r])
             for r, row in enumerate(grid.rows) for it in row if it.kind == "node"]
    for route, points in zip(grid.routes, lay.paths):
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            for it, bx0, by0, bx1, by1 in boxes:
                if it in (route.upper, route.lower):
                    continue
                inside_x = max(x0, x1) > bx0 and min(x0, x1) < bx1
                inside_y = max(y0, y1) > by0 and min(y0, y1) < by1
                assert not (inside_x and inside_y), f"edge {route.edge.src}->{route.edge.dst} hits {it.node.name}"


def test_unpartitioned_layer_stands_apart(tmp_path):
    job = variant(tmp_path, "examples/mnist/job.pbtxt", 2, None)
    job.write_text(job.read_text().replace('name: "loss"\n', 'name: "loss"\n    partition_dim: -1\n', 1))
    whole = [g.get("data-name") for g in drawn_nodes(svg_tree(singac.compile_file(str(job))))
             if "whole" in g.get("class").split()]
    assert whole == ["loss"]


def test_rbm_back_edge_is_drawn_against_execution_order(tmp_path):
    plan = singac.compile_file(str(variant(tmp_path, "examples/rbm/rbm1.pbtxt", 1, None)))
    back = [p for p in svg_tree(plan).iter(f"{{{NS['s']}}}path") if "back" in p.get("class", "").split()]
    assert back


def test_other_phase_and_collapse(cifar):
    test_nodes = drawn_nodes(svg_tree(cifar, "test"))
    assert {g.get("data-name") for g in test_nodes} == {n.name for n in graph_of(cifar, 4).nodes}
    full, small = build_view(cifar), collapse_view(build_view(cifar))
    assert len(small.nodes) < len(full.nodes) / 2
    assert small.cross_bytes == full.cross_bytes
    names = {g.get("data-name") for g in drawn_nodes(svg_tree(cifar, collapse=True))}
    assert "conv1@*" in names and not any(re.search(r"@\d", n) for n in names)
    assert "conv3@*+[*]" in names and not any(re.search(r"\[\d", n) for n in names)  # slices of all blocks


def test_dot_has_a_cluster_per_worker_and_every_node_and_edge(cifar):
    dot = render(cifar, ".dot").decode()
    graph = graph_of(cifar)
    assert sorted(re.findall(r"subgraph cluster_w(\d+)", dot)) == ["0", "1", "2", "3"]
    for node in graph.nodes:
        assert len(re.findall(rf'^\s+"{re.escape(node.name)}" \[', dot, re.MULTILINE)) == 1
    assert len(re.findall(r"^\s+\".+\" -> \".+\" \[", dot, re.MULTILINE)) == sum(len(n.srcs) for n in graph.nodes)
    for shape in ("trapezium", "invtrapezium", "hexagon", "invhouse", "house"):
        assert f'shape="{shape}"' in dot


def summary(plan: plan_pb2.PlanProto) -> dict:
    """A small structural summary of the train picture: what each golden keeps."""
    root = svg_tree(plan)
    view = build_view(plan)
    nodes = drawn_nodes(root)
    paths = [p for p in root.iter(f"{{{NS['s']}}}path") if "edge" in p.get("class", "").split()]
    return {
        "job": view.job,
        "framework": view.topology.framework,
        "nodes_by_kind": dict(sorted(Counter(g.get("data-kind") for g in nodes).items())),
        "nodes_by_worker": dict(sorted(Counter(g.get("class").split()[2] for g in nodes).items())),
        "edges_by_style": dict(sorted(Counter(p.get("class").split()[1] for p in paths).items())),
        "cross_bytes_per_step": view.cross_bytes,
        "param_push_bytes_per_step": {f"{w}->{s}": n for (w, s), n in sorted(view.traffic.push.items())},
        "params_per_worker": {str(w): names for w, names in view.worker_params.items()},
        "slices_per_server": {str(s): names for s, names in view.server_slices.items()},
    }


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_golden_summary(name, tmp_path):
    plan = singac.compile_file(str(variant(tmp_path, *EXAMPLES[name])))
    got = summary(plan)
    assert got == json.loads(golden_text(GOLDEN / f"{name}.json", json.dumps(got, indent=1) + "\n"))


def test_inserted_nodes_have_short_labels_and_full_names_on_hover(cifar):
    bridges = [g for g in drawn_nodes(svg_tree(cifar)) if g.get("data-kind") in ("bridge_src", "bridge_dst")]
    by_name = {n.name: n for n in graph_of(cifar).nodes}
    for g in bridges:
        node = by_name[g.get("data-name")]
        label = g.find("s:text", NS).text
        peer = by_name[node.peer].worker
        sends = g.get("data-kind") == "bridge_src"
        assert label == f"{'send' if sends else 'recv'} {node.origin} {'to' if sends else 'from'} w{peer}"
        assert g.find("s:title", NS).text.startswith(node.name + " (")
    split = next(g for g in drawn_nodes(svg_tree(cifar)) if g.get("data-name") == "norm2@00+")
    assert split.find("s:text", NS).text == "split norm2"
