"""Several worker groups in one process: checkpoints are written while the background groups pause, so
every checkpoint holds whole steps only (no update half applied, the updater's history consistent).

The interleaving is forced, not hoped for: the background group stops inside each of its steps, right
after its first param update, until the main thread asks for the checkpoint's hold; every checkpoint is
therefore requested while a background step is half done, and the hold must not let the checkpoint
start before that step has ended. One background group makes the forcing exact (each hold releases
exactly one parked step); several groups share the same gate code."""
from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import singac
from singart import checkpoint, manifests, store, train
from singart.data.convert import write_image_shard
from singart.train import run_plan

STEPS = 40
HANG = 60  # seconds: only a broken gate waits this long (a hang guard, not a timing assumption)
JOB = """name: "groups"
train_steps: {steps}
checkpoint_freq: 1
checkpoint_keep: 0  # every step stays, for the test to read
seed: 7
train_one_batch {{ alg: kBP }}
updater {{ type: kSGD momentum: 0.9 learning_rate {{ type: kFixed base_lr: 0.01 }} }}
cluster {{ nworker_groups: 2 workspace: "{ws}" }}
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


class Rendezvous:
    """The background group parks inside a step until a hold is asked for; the main thread asks for
    each hold only once the background group is parked."""

    def __init__(self) -> None:
        self.parked = threading.Event()
        self.gate: train.Gate | None = None
        self.last_step: int | None = None
        self.in_step = False  # the background group is between its first update and the end of its step
        self.holds_mid_step = 0

    def after_update(self, step: int) -> None:
        """In the background thread, after one param update of `step`: park after the step's first."""
        if threading.current_thread() is threading.main_thread() or self.last_step == step:
            return
        self.last_step, self.in_step = step, True
        gate = self.gate
        assert gate is not None
        self.parked.set()
        with gate._cond:  # woken when the main thread sets the hold (Gate.hold notifies)
            assert gate._cond.wait_for(lambda: gate._held, HANG), "no checkpoint asked to hold the gate"

    def before_hold(self) -> None:
        """In the main thread, before a checkpoint's hold: wait for a background step to be half done."""
        assert self.parked.wait(HANG), "the background group never parked inside a step"
        self.parked.clear()
        self.holds_mid_step += 1

    def after_hold(self) -> None:
        """In the main thread, once the hold is granted: the half-done step must have ended."""
        assert not self.in_step, "the checkpoint's hold was granted while a background step was half done"


def _force_interleaving(monkeypatch: pytest.MonkeyPatch) -> Rendezvous:
    meet = Rendezvous()
    whole = store.Updates.whole

    def update_then_park(self: store.Updates, step: int, name: str, value: np.ndarray, grad: np.ndarray) -> None:
        whole(self, step, name, value, grad)
        meet.after_update(step)

    class ProbedGate(train.Gate):
        def __init__(self) -> None:
            super().__init__()
            meet.gate = self

        @contextmanager
        def hold(self) -> Iterator[None]:
            meet.before_hold()
            with super().hold():
                meet.after_hold()
                yield

        @contextmanager
        def step(self) -> Iterator[None]:
            with super().step():
                yield
                meet.in_step = False  # the step is done: said before the gate counts it as ended

    monkeypatch.setattr(store.Updates, "whole", update_then_park)
    monkeypatch.setattr(train, "Gate", ProbedGate)
    return meet


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
    meet = _force_interleaving(monkeypatch)
    folder = _train(tmp_path)
    assert meet.holds_mid_step == STEPS  # every gated checkpoint came while a background step was half done
    params = ["w1", "b1", "w2", "b2", "w3", "b3"]
    seen = []
    for step in range(STEPS + 1):
        files = manifests.step_files(manifests.done_path(folder, step), step)
        assert files is not None, f"step {step} is incomplete"
        state = checkpoint.read(files[-1])
        # each group step updates every param once: a group caught inside a step would leave the
        # params it already updated one update ahead of the others
        counts = {name: int(state[f"{name}/count"][0][0]) if f"{name}/count" in state else 0
                  for name in params}
        assert len(set(counts.values())) == 1, f"step {step}: torn checkpoint, updates per param {counts}"
        seen.append(counts["w1"])
    assert seen[-1] == 2 * STEPS  # the final checkpoint follows every group's every step
    assert seen == sorted(seen)
