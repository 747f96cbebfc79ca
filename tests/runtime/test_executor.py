"""The executor: bridge hand-over between worker threads, gradient sums, and failing workers."""
from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
import singac
from singa_proto import plan_pb2
from singa_spec.plans import read_plan, seal, write_plan
from singart import SingaError
from singart.connection import Aborted, Channels
from singart.data.convert import write_image_shard
from singart.executor import Env, GradSums, SliceStep
from singart.train import Trainer

JOB = """name: "executor"
train_steps: 3
disp_freq: 1
seed: 2
train_one_batch { alg: kBP }
updater { type: kSGD learning_rate { type: kFixed base_lr: 0.1 } }
cluster { nworkers_per_group: 2 workspace: "WS" }
neuralnet {
  partition_dim: 1
  layer { name: "data" type: kShardData sharddata_conf { path: "SHARD" batchsize: 4 } }
  layer { name: "mnist" type: kMnist srclayers: "data" mnist_conf { norm_a: 255 } }
  layer { name: "label" type: kLabel srclayers: "data" }
  layer { name: "fc1" type: kInnerProduct srclayers: "mnist" innerproduct_conf { num_output: 4 }
    param { name: "w1" init { type: kUniform } } param { name: "b1" } }
  layer { name: "loss" type: kSoftmaxLoss srclayers: "fc1" srclayers: "label" }
}
"""


@pytest.fixture
def plan(tmp_path: Path) -> plan_pb2.PlanProto:
    rng = np.random.default_rng(0)
    write_image_shard(str(tmp_path / "shard"), rng.integers(0, 256, (8, 3, 3), dtype=np.uint8),
                      rng.integers(0, 4, 8), interval=1e9)
    src = tmp_path / "job.pbtxt"
    src.write_text(JOB.replace("WS", str(tmp_path / "ws")).replace("SHARD", str(tmp_path / "shard")))
    return singac.compile_file(str(src))


def test_mailbox_hands_over_by_reference_across_threads() -> None:
    channel = Channels().get("a.src")
    x = np.arange(6.0)
    got: list[np.ndarray] = []
    t = threading.Thread(target=lambda: got.append(channel.forward.get()))
    t.start()
    channel.forward.put(x)
    t.join(timeout=10)
    assert got and got[0] is x  # no copy within a process


def test_abort_wakes_a_waiting_worker() -> None:
    channels = Channels()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            channels.get("b.src").backward.get()
        except Aborted as err:
            errors.append(err)

    t = threading.Thread(target=wait)
    t.start()
    channels.abort()
    t.join(timeout=10)
    assert not t.is_alive() and len(errors) == 1


def test_gradients_of_several_consumers_are_summed_without_touching_theirs() -> None:
    sums = GradSums()
    a, b, c = np.ones(3), np.full(3, 2.0), np.full(3, 4.0)
    sums.add("x", a)
    sums.add("x", b)
    sums.add("x", c)
    np.testing.assert_array_equal(sums.pop("x"), 7.0)
    np.testing.assert_array_equal(a, 1.0)  # the consumers' own buffers are left alone
    assert sums.pop("x") is None


def test_slice_is_a_view_and_its_gradient_fills_only_the_cut() -> None:
    node = plan_pb2.Node(name="s", kind=plan_pb2.kSliceNode, srcs=["x"], shape=[2, 3])
    node.cut.axis, node.cut.begin, node.cut.end = 1, 1, 4
    graph = plan_pb2.PhaseGraph(nodes=[plan_pb2.Node(name="x", shape=[2, 5]), node])
    step = SliceStep(node, Env(graph, None, Channels(), 0, True))  # type: ignore[arg-type]
    x = np.arange(10.0).reshape(2, 5)
    y = step.forward([x], 0)
    assert np.shares_memory(x, y) and y.tolist() == [[1, 2, 3], [6, 7, 8]]
    (dx,) = step.backward(np.ones((2, 3)), 0)
    assert dx.tolist() == [[0, 1, 1, 1, 0]] * 2


def test_a_failing_worker_stops_its_group_instead_of_hanging(plan: plan_pb2.PlanProto) -> None:
    trainer = Trainer(plan, out=io.StringIO(), err=io.StringIO())
    try:
        ex = next(e for e in trainer.train.executors if e.worker == 1)
        node, step = next((n, s) for n, s in ex.steps if n.kind == plan_pb2.kCompute and n.params)

        def fail(inputs: list, step_no: int) -> None:
            raise RuntimeError(f"{node.name} failed")

        step.forward = fail  # type: ignore[method-assign]
        with pytest.raises(RuntimeError, match="failed"):
            trainer.train.run(0)  # worker 0 waits on a bridge from worker 1: abort must wake it
    finally:
        trainer.close()


def test_workers_run_in_their_own_threads(plan: plan_pb2.PlanProto) -> None:
    trainer = Trainer(plan, out=io.StringIO(), err=io.StringIO())
    seen: dict[int, int] = {}
    try:
        for ex in trainer.train.executors:
            inner = ex.forward

            def spy(step: int, ex=ex, inner=inner) -> dict:
                seen[ex.worker] = threading.get_ident()
                return inner(step)

            ex.forward = spy  # type: ignore[method-assign]
        trainer.train.run(0)
    finally:
        trainer.close()
    assert sorted(seen) == [0, 1] and seen[0] != seen[1]


def test_a_source_on_another_worker_needs_a_bridge(plan: plan_pb2.PlanProto, tmp_path: Path) -> None:
    graph = next(g for g in plan.graphs if g.num_partitions == 2)
    bridged = next(n for n in graph.nodes if n.kind == plan_pb2.kBridgeDstNode)
    consumer = next(n for n in graph.nodes if bridged.name in n.srcs)
    consumer.srcs[list(consumer.srcs).index(bridged.name)] = bridged.peer  # skip the bridge pair
    write_plan(seal(plan), tmp_path / "bad.plan")
    with pytest.raises(SingaError, match="without a bridge"):
        Trainer(read_plan(tmp_path / "bad.plan"), out=io.StringIO(), err=io.StringIO())


def test_worker_groups_in_one_process_share_params(plan: plan_pb2.PlanProto) -> None:
    plan.job.cluster.nworker_groups = 3
    trainer = Trainer(plan, out=io.StringIO(), err=io.StringIO())
    assert len(trainer.others) == 2
    assert all(o.group.store.values is trainer.store.values for o in trainer.others)
    trainer.run()
    # every group trained every step through the one updater: three updates per param per step
    assert set(trainer.updater.counts.values()) == {3 * plan.job.train_steps}
