"""Processes in the picture: which rank hosts which workers and servers, and the bytes per step each process
puts on the wire, checked against hand arithmetic."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from singac.viz import build_view, collapse_view, render
from singac.viz.procs import union_overlap
from singac.viz.traffic import overlap

from .jobs import mlp
from .test_viz_traffic import ALL_PARAMS, FLOAT, cluster, compiled

NS = "{http://www.w3.org/2000/svg}"
PARAMS = ALL_PARAMS * FLOAT  # 1,056 B: every gradient of the MLP, or its fresh values
IMAGE, BLOCK = 8 * 36 * FLOAT, 8 * 3 * FLOAT  # the batch of images; a block of 3 features of 8 examples


def view_of(tmp_path, dim: int, fields: str, hosts: dict[int, str] | None = None):
    return build_view(compiled(tmp_path, cluster(mlp(2, dim), fields)), hosts=hosts)


def wire_table(view) -> dict[tuple[int, int], int]:
    ranks = view.placement.ranks
    return {(a, b): view.procs.wire(a, b) for a in ranks for b in ranks if view.procs.wire(a, b)}


def test_one_worker_per_process_servers_shared(tmp_path):
    # rank 0 hosts worker 0 and the server, rank 1 worker 1: only rank 1's push and pull go on the wire.
    view = view_of(tmp_path, 0, "nworkers_per_procs: 1")
    assert view.placement.workers == {0: [(0, 0)], 1: [(0, 1)]}
    assert view.placement.servers == {0: [(0, 0)], 1: []}
    assert view.procs.push == {(0, 0): PARAMS, (1, 0): PARAMS}
    assert wire_table(view) == {(1, 0): PARAMS, (0, 1): PARAMS}
    assert view.procs.total(view.placement.ranks) == 2 * PARAMS


def test_one_worker_per_process_servers_separate(tmp_path):
    view = view_of(tmp_path, 0, "nworkers_per_procs: 1 server_worker_separate: true")
    assert view.procs.push == {(0, 2): PARAMS, (1, 2): PARAMS}
    assert wire_table(view) == {(0, 2): PARAMS, (1, 2): PARAMS, (2, 0): PARAMS, (2, 1): PARAMS}
    assert view.procs.params_wire == 4 * PARAMS


def test_two_workers_in_one_process_push_their_summed_gradients_once(tmp_path):
    separate = view_of(tmp_path, 0, "nworkers_per_procs: 2 server_worker_separate: true")
    assert separate.placement.workers[0] == [(0, 0), (0, 1)]
    assert separate.procs.push == {(0, 1): PARAMS}  # not 2 x: the stub sums before it pushes
    assert wire_table(separate) == {(0, 1): PARAMS, (1, 0): PARAMS}
    shared = view_of(tmp_path, 0, "nworkers_per_procs: 2")
    assert shared.placement.ranks == [0] and shared.procs.push == {(0, 0): PARAMS}
    assert shared.procs.total([0]) == 0  # all in one process: nothing on the wire


def test_feature_partitioned_bridge_crosses_processes(tmp_path):
    view = view_of(tmp_path, 1, "nworkers_per_procs: 1")
    half = PARAMS // 2  # each worker holds half of every param's rows
    assert view.procs.push == {(0, 0): half, (1, 0): half}
    # 0 -> 1: the image, tanh's block forward, and the gradients of 1's tanh and fc2 blocks back.
    assert view.procs.bridges == {(0, 1): IMAGE + 3 * BLOCK, (1, 0): 3 * BLOCK}
    assert wire_table(view) == {(0, 1): half + IMAGE + 3 * BLOCK, (1, 0): half + 3 * BLOCK}
    assert view.procs.total([0, 1]) == 2 * half + IMAGE + 6 * BLOCK  # 2,784 B


def test_feature_partitioned_workers_in_one_process_push_the_union_of_their_blocks(tmp_path):
    view = view_of(tmp_path, 1, "nworkers_per_procs: 2 server_worker_separate: true")
    assert view.procs.push == {(0, 1): PARAMS}  # two halves make every float once
    assert view.procs.bridges == {}  # bridges inside one process cost nothing on the wire
    assert view.procs.total([0, 1]) == 2 * PARAMS


def test_hogwild_sync_between_server_processes(tmp_path):
    view = build_view(compiled(tmp_path, cluster(mlp(1, 0), "nworker_groups: 2 nserver_groups: 2 sync_freq: 4")))
    assert view.placement.workers == {0: [(0, 0)], 1: [(1, 0)]}
    assert view.placement.servers == {0: [(0, 0)], 1: [(1, 0)]}
    # Each process's worker group pushes to its own server group, in process; group 1 syncs with master 0.
    assert view.procs.push == {(0, 0): PARAMS, (1, 1): PARAMS}
    assert view.procs.sync == {(0, 1): PARAMS // 4, (1, 0): PARAMS // 4}
    assert view.procs.sync_wire == view.traffic.sync == 2 * PARAMS // 4


def test_several_groups_in_processes_count_each_groups_bridges(tmp_path):
    view = build_view(compiled(tmp_path, cluster(mlp(2, 1), "nworker_groups: 2 nworkers_per_procs: 1")))
    assert len(view.placement.ranks) == 4
    assert view.procs.bridges_wire == 2 * (IMAGE + 6 * BLOCK)  # each group's bridges cross its two ranks


def test_picture_frames_each_ranks_columns_and_lists_ranks(tmp_path):
    plan = compiled(tmp_path, cluster(mlp(2, 1), "nworkers_per_procs: 1 server_worker_separate: true"))
    root = ET.fromstring(render(plan, ".svg"))
    frames = [r for r in root.iter(f"{NS}rect") if r.get("class") == "rank"]
    assert [f.get("data-rank") for f in frames] == ["0", "1"]  # rank 2 hosts no worker: no frame
    assert float(frames[0].get("x")) >= -20  # inside the page, left of the first column
    texts = {t.get("class"): [] for t in root.iter(f"{NS}text")}
    for t in root.iter(f"{NS}text"):
        texts[t.get("class")].append(t.text)
    assert texts["rank-head"] == ["rank 0", "rank 1"]
    assert texts["rank-roles"] == ["rank 0: w0", "rank 1: w1", "rank 2: s0"]
    assert texts["header-3"] == ["3 processes: 3.84 KB/step on the wire (params 2.11 KB, bridges 1.73 KB)"]
    assert "rank 0 -> rank 2: push 528 B, pull 528 B" in texts["process-link"]
    assert texts["process-cell"][:4] == ["from\\to", "r0", "r1", "r2"]
    assert texts["process-cell"][4:8] == ["r0", "-", "1.44 KB", "528 B"]


def test_one_process_has_no_wire_table(tmp_path):
    svg = render(compiled(tmp_path, cluster(mlp(2, 0), "nworkers_per_procs: 2")), ".svg").decode()
    assert "1 process: 0 B/step on the wire" in svg
    assert "rank 0 -&gt; rank 0: push 1.06 KB, pull 1.06 KB (in process)" in svg
    assert 'class="process-cell"' not in svg


def test_collapsed_picture_keeps_the_process_figures_and_draws_no_frames(tmp_path):
    view = view_of(tmp_path, 0, "nworkers_per_procs: 1")
    collapsed = collapse_view(view)
    assert collapsed.procs == view.procs
    svg = render(compiled(tmp_path, cluster(mlp(2, 0), "nworkers_per_procs: 1")), ".svg", collapse=True).decode()
    assert 'class="rank"' not in svg and "2 processes: 2.11 KB/step on the wire" in svg


def test_dot_lists_processes_and_links(tmp_path):
    dot = render(compiled(tmp_path, cluster(mlp(2, 0), "nworkers_per_procs: 1")), ".dot").decode()
    assert "2 processes: 2.11 KB/step on the wire" in dot
    assert "rank 1 -> rank 0: push 1.06 KB, pull 1.06 KB" in dot


@pytest.mark.parametrize("blocks", [{(0, 0, 3), (0, 3, 6)}, {(0, 1, 4), (0, 2, 5)}, {(0, 0, 2), (1, 1, 3)},
                                    {None, (1, 0, 2)}, {(2, 0, 1)}])
def test_union_overlap_counts_each_float_once(blocks):
    shape = (6, 4, 2)
    for start, stop in [(0, 48), (5, 30), (17, 18), (40, 48)]:
        floats = set()
        for b in blocks:
            for i in range(start, stop):
                if overlap(shape, b, i, i + 1):
                    floats.add(i)
        assert union_overlap(shape, blocks, start, stop) == len(floats), (blocks, start, stop)
