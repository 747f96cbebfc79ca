"""Several worker groups in one process: checkpoints are written while the background groups pause, so
every checkpoint holds whole steps only (no update half applied, the updater's history consistent)."""
from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import singac
from singa_proto import plan_pb2
from singart import checkpoint, store
from singart.data.convert import write_image_shard
from singart.params.updaters import Updater
from singart.train import run_plan

STEPS = 40
JOB = """name: "groups"
train_steps: {steps}
checkpoint_freq: 1
seed: 7
train_one_batch {{ alg: kBP }}
updater {{ type: kSGD momentum: 0.9 learning_rate {{ type: kFixed base_lr: 0.01 }} }}
cluster {{ nworker_groups: 3 workspace: "{ws}" }}
neuralnet {{
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "{shard}" batchsize: 16 shape: 12 shape: 12 }} }}
  layer {{ name: "mnist" type: kMnist srclayers: "data" mnist_conf {{ norm_a: 255 norm_b: 0.5 }} }}
  layer {{ name: "label" type: kLabel srclayers: "data" }}
  layer {{ name: "fc1" type: kInnerProduct srclayers: "mnist" innerproduct_conf {{ num_output: 64 }}
    param {{ name: "w1" init {{ type: kUniform low: -0.1 high: 0.1 }} }} param {{ name: "b1" }} }}
  layer {{ name: "act" type: kSTanh srclayers: "fc1" }}
  layer {{ name: "fc2" type: kInnerProduct srclayers: "act" innerproduct_conf {{ num_output: 32 }}
    param {{ name: "w2" init {{ type: kUniform low: -0.1 high: 0.1 }} }} param {{ name: "b2" }} }}
  layer {{ name: "act2" type: kSTanh srclayers: "fc2" }}
  layer {{ name: "fc3" type: kInnerProduct srclayers: "act2" innerproduct_conf {{ num_output: 4 }}
    param {{ name: "w3" init {{ type: kUniform low: -0.1 high: 0.1 }} }} param {{ name: "b3" }} }}
  layer {{ name: "loss" type: kSoftmaxLoss srclayers: "fc3" srclayers: "label" }}
}}
"""


def _slow_background_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Background groups pause a little after each param update (the GIL released, as in a kernel), so
    they spend most of their time between the first and the last update of a step."""
    make_update = store.make_update

    def slowed(plan: plan_pb2.PlanProto, updater: Updater) -> store.UpdateFn:
        update = make_update(plan, updater)

        def slow_update(step: int, name: str, value: np.ndarray, grad: np.ndarray) -> None:
            update(step, name, value, grad)
            if threading.current_thread() is not threading.main_thread():
                time.sleep(0.002)

        return slow_update

    monkeypatch.setattr(store, "make_update", slowed)


def _train(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    shard = tmp_path / "shard"
    write_image_shard(str(shard), rng.integers(0, 256, (64, 12, 12), dtype=np.uint8), rng.integers(0, 4, 64),
                      interval=1e9)
    ws = tmp_path / "ws"
    src = tmp_path / "job.pbtxt"
    src.write_text(JOB.format(steps=STEPS, ws=ws, shard=shard))
    run_plan(singac.compile_file(str(src)), out=io.StringIO(), err=io.StringIO())
    return ws / "checkpoint"


def test_every_checkpoint_holds_whole_steps_of_every_group(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_background_updates(monkeypatch)
    folder = _train(tmp_path)
    params = ["w1", "b1", "w2", "b2", "w3", "b3"]
    seen = []
    for step in range(STEPS + 1):
        files = checkpoint.step_files(checkpoint.done_path(folder, step), step)
        assert files is not None, f"step {step} is incomplete"
        state = checkpoint.read(files[-1])
        # each group step updates every param once: a group caught inside a step would leave the
        # params it already updated one update ahead of the others
        counts = {name: int(state[f"{name}/count"][0][0]) if f"{name}/count" in state else 0
                  for name in params}
        assert len(set(counts.values())) == 1, f"step {step}: torn checkpoint, updates per param {counts}"
        seen.append(counts["w1"])
    assert seen[-1] == 3 * STEPS  # the final checkpoint follows every group's every step
    assert seen == sorted(seen)
