"""The training step's shortcuts change nothing but speed: an SGD update folded into the weight-gradient
GEMM equals the plain update, and input gradients that nothing uses are not computed."""
from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np
import pytest
import singac
from singa_proto import job_pb2, plan_pb2
from singart import store
from singart.data.convert import write_image_shard
from singart.executor import ComputeStep
from singart.train import find_graph
from singart.worker import WorkerGroup

JOB = """name: "hot"
train_steps: 1
seed: 3
train_one_batch { alg: kBP }
updater { type: kSGD weight_decay: 0.01 learning_rate { type: kFixed base_lr: 0.05 } }
cluster { nworkers_per_group: $n workspace: "$ws" }
neuralnet {
  layer { name: "data" type: kShardData sharddata_conf { path: "$shard" batchsize: 8 } }
  layer { name: "mnist" type: kMnist srclayers: "data" mnist_conf { norm_a: 255 norm_b: 0.5 } }
  layer { name: "label" type: kLabel srclayers: "data" }
  layer { name: "fc1" type: kInnerProduct srclayers: "mnist" innerproduct_conf { num_output: 12 }
    param { name: "w1" init { type: kUniform low: -0.3 high: 0.3 } lr_scale: 2 wd_scale: 3 }
    param { name: "b1" init { type: kUniform low: -0.1 high: 0.1 } } }
  layer { name: "act" type: kSTanh srclayers: "fc1" }
  layer { name: "fc2" type: kInnerProduct srclayers: "act" innerproduct_conf { num_output: 6 transpose: true }
    param { name: "w2" init { type: kUniform low: -0.3 high: 0.3 } }
    param { name: "b2" init { type: kUniform low: -0.1 high: 0.1 } } }
  layer { name: "act2" type: kSTanh srclayers: "fc2" }
  layer { name: "fc3" type: kInnerProduct srclayers: "act2" innerproduct_conf { num_output: 3 }
    param { name: "w3" init { type: kUniform low: -0.3 high: 0.3 } }
    param { name: "b3" init { type: kUniform low: -0.1 high: 0.1 } } }
  layer { name: "loss" type: kSoftmaxLoss srclayers: "fc3" srclayers: "label" }
}
"""


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> str:
    rng = np.random.default_rng(5)
    folder = tmp_path_factory.mktemp("data") / "shard"
    write_image_shard(str(folder), rng.integers(0, 256, (32, 5, 5), dtype=np.uint8), rng.integers(0, 3, 32),
                      interval=1e9)
    return str(folder)


def compile_job(tmp_path: Path, shard: str, n: int = 1) -> plan_pb2.PlanProto:
    src = tmp_path / f"job{n}.pbtxt"
    src.write_text(JOB.replace("$n", str(n)).replace("$ws", str(tmp_path / "ws")).replace("$shard", shard))
    return singac.compile_file(str(src))


def train(plan: plan_pb2.PlanProto, steps: int, fold: bool) -> tuple[dict[str, np.ndarray], store.ParamStore]:
    """Run `steps` steps of the train graph; the final params and the store."""
    graph = find_graph(plan, job_pb2.kTrain)
    params, updater = store.build(plan, graph)
    if not fold:  # the same store, updating only from gradient buffers
        params = store.ParamStore(plan, params.values, graph, store.Updates(plan, updater))
    group = WorkerGroup(graph, params, plan.job.seed, train=True)
    for step in range(steps):
        group.run(step)
    group.close()
    return {k: v.copy() for k, v in params.values.items()}, params


def test_folded_update_equals_the_update_from_the_gradient(tmp_path: Path, shard: str) -> None:
    plan = compile_job(tmp_path, shard)
    folded, fstore = train(plan, 5, fold=True)
    plain, pstore = train(plan, 5, fold=False)
    assert folded.keys() == plain.keys()
    for name in plain:
        np.testing.assert_allclose(folded[name], plain[name], rtol=1e-5, atol=1e-6, err_msg=name)
    # the weights were updated by the fold (their gradient buffers never written), the biases were not
    assert not fstore.grads["w1"].any() and not fstore.grads["w2"].any()
    assert pstore.grads["w1"].any() and fstore.grads["b1"].any()
    assert fstore.versions == pstore.versions == {name: 5 for name in plain}


def test_replicas_fold_as_they_would_update(tmp_path: Path, shard: str) -> None:
    plan = compile_job(tmp_path, shard, n=2)  # batch partitioning: two replicas share each weight
    folded, _ = train(plan, 5, fold=True)
    plain, _ = train(plan, 5, fold=False)
    for name in plain:
        np.testing.assert_allclose(folded[name], plain[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_replicas_in_a_group_share_the_fold_of_their_weights(tmp_path: Path, shard: str) -> None:
    plan = compile_job(tmp_path, shard, n=2)
    graph = find_graph(plan, job_pb2.kTrain)
    params, _ = store.build(plan, graph)
    group = WorkerGroup(graph, params, plan.job.seed, train=True)
    shared = {st.refs[0].param: st.layer.replica for ex in group.executors for _, st in ex.steps
              if isinstance(st, ComputeStep) and getattr(st.layer, "replica", None) is not None}
    assert set(shared) == {"w1", "w3"}  # fc2 is transposed: its replicas fold one after the other
    group.run(0)
    group.close()
    assert not params.grads["w1"].any() and not params.grads["w3"].any()  # no partial gradient summed
    assert params.versions["w1"] == params.versions["w3"] == 1


def test_only_the_last_user_folds_after_applying_the_others_gradients(tmp_path: Path, shard: str) -> None:
    plan = compile_job(tmp_path, shard, n=2)
    graph = find_graph(plan, job_pb2.kTrain)
    params, _ = store.build(plan, graph)
    refs = [r for n in graph.nodes for r in n.params if r.param == "w1"]
    assert len(refs) == 2
    w0 = params.values["w1"].copy()
    params.begin_step()
    assert params.fold(refs[0], 0) is None  # the other replica has not added its gradient yet
    g = np.full_like(w0, 2.0)
    params.add_grad(refs[0], g, 0)
    alpha, beta = params.fold(refs[1], 0)  # the last user: the first gradient is applied now
    lr, wd = 0.05 * 2, 0.01 * 3  # base_lr * lr_scale, weight_decay * wd_scale
    assert (alpha, beta) == (pytest.approx(-lr), 1.0)
    np.testing.assert_allclose(params.values["w1"], (1 - lr * wd) * w0 - lr * g, rtol=1e-6)
    params.folded(refs[1], 0)
    assert params.versions["w1"] == 1


def test_inputs_behind_no_param_get_no_gradient(tmp_path: Path, shard: str) -> None:
    plan = compile_job(tmp_path, shard)
    graph = find_graph(plan, job_pb2.kTrain)
    params, _ = store.build(plan, graph)
    group = WorkerGroup(graph, params, plan.job.seed, train=True)
    group.run(0)
    layers = {node.name: st.layer for node, st in group.executors[0].steps if isinstance(st, ComputeStep)}
    assert layers["fc1"].needs_dx == [False]  # its input is the data
    assert layers["fc2"].needs_dx == [True]
    assert "dx" not in layers["fc1"]._bufs and "dx" in layers["fc2"]._bufs


def test_a_replica_failing_before_meeting_the_others_stops_the_group(tmp_path: Path, shard: str) -> None:
    plan = compile_job(tmp_path, shard, n=2)
    graph = find_graph(plan, job_pb2.kTrain)
    params, _ = store.build(plan, graph)
    group = WorkerGroup(graph, params, plan.job.seed, train=True)
    failing = next(st for _, st in group.executors[1].steps
                   if isinstance(st, ComputeStep) and getattr(st.layer, "replica", None) is not None)

    class Broken:  # stands in for the failing replica's handle: it fails before meeting the others
        def forward(self, *args: object) -> None:
            raise RuntimeError("replica failed")

    failing.layer.replica = Broken()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            group.run(0)
        except BaseException as err:  # noqa: BLE001 -- checked below
            errors.append(err)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(120)  # a hang guard only: the failure must surface instead of a wait for it
    assert not runner.is_alive()
    assert [str(e) for e in errors] == ["replica failed"]
    group.close()


UPDATERS = {
    "sgd": "type: kSGD",
    "momentum": "type: kSGD momentum: 0.9",
    "nesterov": "type: kNesterov momentum: 0.9",
    "adagrad": "type: kAdaGrad",
    "rmsprop": "type: kRMSProp rmsprop_conf { rho: 0.9 }",
    "adam": "type: kAdam adam_conf { beta1: 0.9 beta2: 0.999 }",
}


@pytest.mark.parametrize("kind", list(UPDATERS))
@pytest.mark.parametrize("threads", [False, True])
def test_row_updates_equal_the_whole_update(kind: str, threads: bool) -> None:
    """Replicas update their rows of a weight at once (each rule is element-wise); the step counts once,
    whichever replica comes first, so Adam's bias correction matches the whole update's."""
    from google.protobuf import text_format
    from singart.params.updaters import Updater

    text = f"{UPDATERS[kind]} weight_decay: 0.01 learning_rate {{ type: kFixed base_lr: 0.1 }}"
    conf = text_format.Parse(text, job_pb2.UpdaterProto())
    rng = np.random.default_rng(2)
    w0, grads = rng.normal(size=(6, 5)).astype(np.float32), rng.normal(size=(3, 6, 5)).astype(np.float32)
    whole, by_rows = Updater(conf), Updater(conf)
    a, b = w0.copy(), w0.copy()
    blocks = [slice(4, 6), slice(0, 1), slice(1, 4)]  # the replica owning row 0 need not come first
    for step, g in enumerate(grads):
        whole.update(step, "w", a, g, lr_scale=2.0, wd_scale=0.5)
        calls = [functools.partial(by_rows.update_rows, step, "w", b, g, r, 2.0, 0.5) for r in blocks]
        if threads:
            run_together(calls)
        else:
            for call in calls:
                call()
    np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    assert not np.allclose(b, w0)
    assert by_rows.counts == whole.counts == {"w": 3}


def run_together(calls: list) -> None:
    """Run the calls in threads that start at once (a barrier), re-raising the first error."""
    barrier, errors = threading.Barrier(len(calls)), []

    def run(call) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as err:  # noqa: BLE001 -- re-raised below
            errors.append(err)

    workers = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    if errors:
        raise errors[0]
