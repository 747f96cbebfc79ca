"""Param traffic in the picture: bytes per step between workers and servers, checked by hand arithmetic."""
from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import singac
from singa_proto import plan_pb2
from singac.viz import build_view, render
from singac.viz.traffic import overlap

from .jobs import mlp

NS = "{http://www.w3.org/2000/svg}"
FLOAT = 4
# jobs.mlp: 36 inputs -> fc1 (6) -> tanh -> fc2 (6) -> softmax loss; weights are (outputs, inputs).
W1, B1, W2, B2 = 6 * 36, 6, 6 * 6, 6
ALL_PARAMS = W1 + B1 + W2 + B2


def compiled(tmp_path: Path, text: str) -> plan_pb2.PlanProto:
    job = tmp_path / "job.pbtxt"
    job.write_text(text)
    return singac.compile_file(str(job))


def cluster(text: str, fields: str) -> str:
    return text.replace('workspace: "ws"', f'workspace: "ws" {fields}', 1)


def texts(plan: plan_pb2.PlanProto) -> list[str]:
    return [t.text or "" for t in ET.fromstring(render(plan, ".svg")).iter(f"{NS}text")]


def test_data_partitioning_pushes_every_gradient_from_every_worker(tmp_path):
    t = build_view(compiled(tmp_path, mlp(2, 0))).traffic
    assert t.push == {(0, 0): ALL_PARAMS * FLOAT, (1, 0): ALL_PARAMS * FLOAT}  # 1,056 B each
    assert t.server_in(0) == 2 * ALL_PARAMS * FLOAT
    assert t.params_bytes == 2 * 2 * ALL_PARAMS * FLOAT  # two workers, push and pull
    assert t.bridges == {}


def test_the_header_no_longer_says_nothing_crosses_a_data_parallel_plan(tmp_path):
    header = texts(compiled(tmp_path, mlp(2, 0)))[3]
    assert header == ("bridges: 0 B/step on 0 edges (activations + gradients), "
                      "params: 4.22 KB/step (gradients pushed + values pulled)")


def test_feature_partitioning_pushes_only_each_workers_blocks(tmp_path):
    # Two servers: w_fc1's floats [0, 132) live on server 0, the rest and every other param on server 1.
    plan = compiled(tmp_path, cluster(mlp(2, 1), "nservers_per_group: 2"))
    assert [(s.offset, s.size, s.server) for s in plan.params[0].slices] == [(0, 132, 0), (132, 84, 1)]
    t = build_view(plan).traffic
    rows = W1 // 2  # each worker holds 3 of fc1's 6 rows of 36 floats: 108 floats
    worker0 = {0: rows, 1: B1 // 2 + W2 // 2 + B2 // 2}  # rows [0, 108) all on server 0
    worker1 = {0: 132 - rows, 1: (W1 - 132) + B1 // 2 + W2 // 2 + B2 // 2}  # rows [108, 216) straddle
    want = {(0, s): n * FLOAT for s, n in worker0.items()} | {(1, s): n * FLOAT for s, n in worker1.items()}
    assert t.push == want
    assert t.worker_push(0) == t.worker_push(1) == ALL_PARAMS // 2 * FLOAT
    assert t.server_in(0) == 132 * FLOAT and t.server_in(1) == (ALL_PARAMS - 132) * FLOAT


def test_bridge_table_counts_each_direction(tmp_path):
    t = build_view(compiled(tmp_path, mlp(2, 1))).traffic
    image = 8 * 36 * FLOAT  # the whole mnist batch, made on worker 0, goes to fc1@01
    block = 8 * 3 * FLOAT  # a block of 3 features of 8 examples
    # 0 -> 1: the image, tanh's block forward, and the gradients of 1's tanh and fc2 blocks back; 1 -> 0
    # the same blocks the other way, but no gradient of the image: an input layer's output needs none.
    assert t.bridges == {(0, 1): image + 3 * block, (1, 0): 3 * block}
    assert t.bridge_bytes == image + 6 * block == build_view(compiled(tmp_path, mlp(2, 1))).cross_bytes


def test_several_worker_groups_share_a_server_group(tmp_path):
    t = build_view(compiled(tmp_path, cluster(mlp(2, 0), "nworker_groups: 2"))).traffic
    assert t.groups_per_server_group == 2
    assert t.server_in(0) == 2 * 2 * ALL_PARAMS * FLOAT  # 2 groups x 2 workers


def test_server_groups_sync_every_sync_freq_steps(tmp_path):
    plan = compiled(tmp_path, cluster(mlp(1, 0), "nworker_groups: 2 nserver_groups: 2 sync_freq: 4"))
    assert plan.topology.framework == "Hogwild"
    # The other group sends each float's delta and gets its value back, once every 4 steps.
    assert build_view(plan).traffic.sync == 2 * ALL_PARAMS * FLOAT // 4
    assert any(line.startswith("server groups sync: 528 B/step") for line in texts(plan))


def test_panel_lists_push_and_pull_per_worker_and_in_out_per_server(tmp_path):
    lines = texts(compiled(tmp_path, cluster(mlp(2, 1), "nservers_per_group: 2")))
    assert "worker 0: push 528 B, pull 528 B" in lines
    assert "server 0: in 528 B, out 528 B" in lines
    assert "server 1: in 528 B, out 528 B" in lines
    assert "1.44 KB" in lines  # a cell of the bridge table


def test_other_phases_move_no_params(tmp_path):
    view = build_view(compiled(tmp_path, mlp(2, 0)), "test")
    assert view.traffic.push == {}


def test_overlap_of_a_block_with_a_slice_matches_counting():
    shape = (4, 6, 2)
    for block in [None, (0, 1, 3), (1, 2, 4), (2, 1, 2)]:
        index = list(itertools.product(*map(range, shape)))
        inside = [block is None or block[1] <= i[block[0]] < block[2] for i in index]
        for start, stop in itertools.combinations(range(math.prod(shape) + 1), 2):
            assert overlap(shape, block, start, stop) == sum(inside[start:stop]), (block, start, stop)
