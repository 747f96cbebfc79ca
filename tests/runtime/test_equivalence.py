"""The main contract: a job partitioned over two workers (batch, feature or hybrid partitioning) trains
exactly as the unpartitioned job does -- the same per-step loss and the same params, to float32
rounding -- on a small MLP and a small LeNet, with momentum, with plain SGD (its update folded into the
weight-gradient GEMM, and replicas sharing an inner product's work) and with Adam (replicas updating
their rows of a weight), and on the MLP with a plugin's user layer in the middle. Every case must really
run on both workers, each in its own thread."""
from __future__ import annotations

import io
import threading
from pathlib import Path
from string import Template
from typing import Any

import numpy as np
import pytest
import singac
from singa_proto import plan_pb2
from singa_spec.plugins import load_plugins
from singart import executor
from singart.data.convert import write_image_shard
from singart.train import run_plan

from ..checkpoints import losses, step_params
from ..plugins.jobs import SCALE_PLUGIN

STEPS = 4
HEAD = """name: "equivalence"
train_steps: $steps
disp_freq: 1
seed: 11
train_one_batch { alg: kBP }
updater { $updater weight_decay: 0.001 learning_rate { type: kFixed base_lr: $lr } }
cluster { nworkers_per_group: $n workspace: "$ws" }
neuralnet {
  partition_dim: $dim
  layer { name: "data" type: kShardData sharddata_conf { path: "$shard" batchsize: 8 } }
  layer { name: "mnist" type: kMnist srclayers: "data" mnist_conf { norm_a: 255 norm_b: 0.5 } }
  layer { name: "label" type: kLabel srclayers: "data" }
"""


def params(w: str, b: str, init: str = "kUniform low: -0.3 high: 0.3") -> str:
    """A weight and a bias param block."""
    return (f'param {{ name: "{w}" init {{ type: {init} }} }} '
            f'param {{ name: "{b}" init {{ type: kUniform low: -0.1 high: 0.1 }} }}')


def layer(name: str, type_: str, srcs: str, body: str = "") -> str:
    """One layer; `srcs` space-separated."""
    src = " ".join(f'srclayers: "{s}"' for s in srcs.split())
    return f'  layer {{ name: "{name}" type: {type_} {src} {body} }}\n'


def mlp(fc2: str = "") -> str:
    """mnist -> fc1 (8) -> stanh -> fc2 (4) -> softmax loss; `fc2` adds fields to fc2."""
    return (HEAD
            + layer("fc1", "kInnerProduct", "mnist", "innerproduct_conf { num_output: 8 } " + params("w1", "b1"))
            + layer("act", "kSTanh", "fc1")
            + layer("fc2", "kInnerProduct", "act", "innerproduct_conf { num_output: 4 } "
                    + params("w2", "b2") + fc2)
            + layer("loss", "kSoftmaxLoss", "fc2 label") + "}\n")


def scale_mlp(part: str = "") -> str:
    """mnist -> fc1 (8) -> Scale (the example plugin's user layer) -> stanh -> fc2 (4) -> softmax loss;
    `part` adds fields to the Scale layer and fc2."""
    scale = ('user_type: "Scale" [scale.scale_conf] { factor: 2 } '
             'param { name: "s" init { type: kUniform low: 0.5 high: 1.5 } }')
    return (HEAD
            + layer("fc1", "kInnerProduct", "mnist", "innerproduct_conf { num_output: 8 } " + params("w1", "b1"))
            + layer("scale", "kUserLayer", "fc1", scale + part)
            + layer("act", "kSTanh", "scale")
            + layer("fc2", "kInnerProduct", "act", "innerproduct_conf { num_output: 4 } "
                    + params("w2", "b2") + part)
            + layer("loss", "kSoftmaxLoss", "fc2 label") + "}\n")


def lenet(ip: str = "") -> str:
    """conv (4, k3) -> max pool -> conv (4, k2) -> max pool -> ip (8) -> relu -> ip (4) -> softmax loss;
    `ip` adds fields to the inner-product layers and the ReLU between them."""
    conv, pool = "kUniformSqrtFanIn", "pooling_conf { pool: MAX kernel: 2 stride: 2 }"
    return (HEAD
            + layer("conv1", "kCConvolution", "mnist",
                    "convolution_conf { num_filters: 4 kernel: 3 } " + params("cw1", "cb1", conv))
            + layer("pool1", "kCPooling", "conv1", pool)
            + layer("conv2", "kCConvolution", "pool1",
                    "convolution_conf { num_filters: 4 kernel: 2 } " + params("cw2", "cb2", conv))
            + layer("pool2", "kCPooling", "conv2", pool)
            + layer("ip1", "kInnerProduct", "pool2", "innerproduct_conf { num_output: 8 } "
                    + params("w1", "b1") + ip)
            + layer("relu", "kReLU", "ip1", ip)
            + layer("ip2", "kInnerProduct", "relu", "innerproduct_conf { num_output: 4 } "
                    + params("w2", "b2") + ip)
            + layer("loss", "kSoftmaxLoss", "ip2 label") + "}\n")


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> dict[int, str]:
    """Shards of 32 records, 6x6 (MLP) and 11x11 (LeNet), four classes."""
    rng = np.random.default_rng(4)
    out = {}
    for side in (6, 11):
        folder = tmp_path_factory.mktemp("data") / f"shard{side}"
        write_image_shard(str(folder), rng.integers(0, 256, (32, side, side), dtype=np.uint8),
                          rng.integers(0, 4, 32), interval=1e9)
        out[side] = str(folder)
    return out


UPDATERS = {  # name -> (updater fields, base_lr)
    "momentum": ("type: kSGD momentum: 0.9", 0.05),
    "sgd": ("type: kSGD", 0.05),
    "adam": ("type: kAdam", 0.01),
}


class Spy:
    """Records which worker ran each compute node in which thread, and which layers shared replicas."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.threads: dict[tuple[int, int], set[int]] = {}  # (training step, worker) -> threads
        self.shared: set[str] = set()
        forward = executor.ComputeStep.forward

        def spied(step: executor.ComputeStep, inputs: list[Any], n: int) -> Any:
            self.threads.setdefault((n, step.node.worker), set()).add(threading.get_ident())
            if getattr(step.layer, "replica", None) is not None:
                self.shared.add(step.node.origin)
            return forward(step, inputs, n)

        monkeypatch.setattr(executor.ComputeStep, "forward", spied)


def train(tmp_path: Path, template: str, shard: str, n: int, dim: int,
          updater: str) -> tuple[list[float], dict, set]:
    """Compile and run a job; its per-step losses, final params and the train graph's node kinds."""
    ws = tmp_path / f"ws{n}-{dim}"
    src = tmp_path / f"job{n}-{dim}.pbtxt"
    fields, lr = UPDATERS[updater]
    src.write_text(Template(template).substitute(steps=STEPS, n=n, ws=ws, dim=dim, shard=shard,
                                                 updater=fields, lr=lr))
    plan = singac.compile_file(str(src))
    kinds = {nd.kind for g in plan.graphs if g.num_partitions == n for nd in g.nodes}
    out = io.StringIO()
    run_plan(plan, out=out, err=io.StringIO())
    return losses(out.getvalue()), step_params(ws, STEPS), kinds


def assert_same(ref: tuple, got: tuple) -> None:
    assert len(got[0]) == len(ref[0]) == STEPS
    np.testing.assert_allclose(got[0], ref[0], rtol=2e-5, atol=1e-6)
    assert got[1].keys() == ref[1].keys()
    params = [name for name in ref[1] if "/" not in name]  # values; "<param>/<slot>" is updater state
    assert {"w1", "w2"} <= set(params)
    for name in ref[1]:
        np.testing.assert_allclose(got[1][name], ref[1][name], rtol=1e-4, atol=1e-5, err_msg=name)


BRIDGED = {plan_pb2.kBridgeSrcNode, plan_pb2.kBridgeDstNode, plan_pb2.kConcatNode}
CASES = {  # name -> (template, dim, the node kinds its two-worker plan must contain)
    "mlp-batch": (mlp(), 0, set()),
    "mlp-feature": (mlp(), 1, BRIDGED),
    "mlp-hybrid": (mlp(" partition_dim: 1"), 0, BRIDGED),
    "lenet-batch": (lenet(), 0, set()),
    "lenet-feature": (lenet(), 1, BRIDGED),
    "lenet-hybrid": (lenet(" partition_dim: 1"), 0, BRIDGED),
}


# the inner products whose whole weight both workers use: their replicas compute together (folding.py)
SHARED = {"mlp-batch": {"fc1", "fc2"}, "mlp-hybrid": {"fc1"}, "lenet-batch": {"ip1", "ip2"}}


@pytest.mark.parametrize("updater", list(UPDATERS))
@pytest.mark.parametrize("case", list(CASES))
def test_two_workers_train_as_one(case: str, updater: str, tmp_path: Path, shards: dict[int, str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    template, dim, kinds = CASES[case]
    shard = shards[6 if case.startswith("mlp") else 11]
    ref = train(tmp_path, template, shard, 1, dim, updater)
    spy = Spy(monkeypatch)
    got = train(tmp_path, template, shard, 2, dim, updater)
    assert kinds <= got[2], "the partitioned plan does not exercise the connection nodes"
    assert set(spy.threads) == {(n, w) for n in range(STEPS) for w in (0, 1)}, "a worker ran no layer"
    for n in range(STEPS):  # within a step, each worker runs all its layers in one thread, not the other's
        mine, other = spy.threads[n, 0], spy.threads[n, 1]
        assert len(mine) == len(other) == 1 and mine != other, f"step {n}: threads {mine} and {other}"
    assert spy.shared == SHARED.get(case, set()), "replicas of whole weights did not share their work"
    assert ref[0][-1] != ref[0][0]  # it trained
    assert_same(ref, got)


SCALE_CASES = {  # a user layer in the middle: name -> (template, dim, node kinds its two-worker plan holds)
    "batch": (scale_mlp(), 0, set()),
    "feature": (scale_mlp(), 1, BRIDGED),
    "hybrid": (scale_mlp(" partition_dim: 1"), 0, BRIDGED),
}


@pytest.mark.parametrize("case", list(SCALE_CASES))
def test_a_user_layer_partitions_as_a_built_in_one(case: str, tmp_path: Path, shards: dict[int, str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    load_plugins([str(SCALE_PLUGIN)])
    template, dim, kinds = SCALE_CASES[case]
    ref = train(tmp_path, template, shards[6], 1, dim, "momentum")
    spy = Spy(monkeypatch)
    got = train(tmp_path, template, shards[6], 2, dim, "momentum")
    assert kinds <= got[2], "the partitioned plan does not exercise the connection nodes"
    assert set(spy.threads) == {(n, w) for n in range(STEPS) for w in (0, 1)}, "a worker ran no layer"
    plan = singac.compile_file(str(tmp_path / f"job2-{dim}.pbtxt"))
    (train_graph,) = [g for g in plan.graphs if g.num_partitions == 2]
    assert {nd.name for nd in train_graph.nodes
            if nd.origin == "scale" and nd.kind == plan_pb2.kCompute} == {"scale@00", "scale@01"}
    assert "s" in ref[1] and ref[0][-1] != ref[0][0]
    assert_same(ref, got)
