"""A plugin's updater, init method, learning-rate schedule and algorithm train a job: the initial
values are the plugin's, every update follows its rule at its schedule's rate, and its algorithm ran
every step. Names nothing registers are refused by the compiler and by the runtime, listing the known."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import singac
from singa_spec import SingaError, kinds
from singa_spec.plans import seal, write_plan
from singart.train import run_plan

from ..plugins import kinds_plugin
from ..plugins.rules import assert_user_rules, params_at
from ..shards import image_shard
from .run_jobs import run

ROOT = Path(__file__).resolve().parents[2]
# reads the plan first, as `singart run` does, then imports the plugin and trains the plan
LATE_PLUGIN = """import io, sys
from singa_spec.plans import read_plan
plan = read_plan(sys.argv[1])
import tests.plugins.kinds_plugin
from singart.train import run_plan
run_plan(plan, out=io.StringIO(), err=io.StringIO())
"""

STEPS = 6
BASE_LR, EVERY = 0.01, 2
START, RAMP = -0.5, 0.001
JOB = """name: "user-kinds"
train_steps: {steps}
checkpoint_freq: 1
checkpoint_keep: 0
test_steps: 1
test_freq: 3
seed: 5
train_one_batch {{ {alg} }}
updater {{ {updater} learning_rate {{ {lr} base_lr: {base_lr} }} }}
cluster {{ workspace: "{ws}" }}
neuralnet {{
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "{shard}" batchsize: 8 shape: 6 shape: 6 }} }}
  layer {{ name: "mnist" type: kMnist srclayers: "data" mnist_conf {{ norm_a: 255 norm_b: 0.5 }} }}
  layer {{ name: "label" type: kLabel srclayers: "data" }}
  layer {{ name: "fc1" type: kInnerProduct srclayers: "mnist" innerproduct_conf {{ num_output: 8 }}
    param {{ name: "w1" init {{ {init} }} }} param {{ name: "b1" }} }}
  layer {{ name: "act" type: kSTanh srclayers: "fc1" }}
  layer {{ name: "fc2" type: kInnerProduct srclayers: "act" innerproduct_conf {{ num_output: 4 }}
    param {{ name: "w2" init {{ type: kUniform low: -0.3 high: 0.3 }} }} param {{ name: "b2" }} }}
  layer {{ name: "loss" type: kSoftmaxLoss srclayers: "fc2" srclayers: "label" }}
}}
"""
USER = {
    "alg": 'user_alg: "RecordedBP" [userkinds.recording_conf] { tag: "mine" }',
    "updater": 'type: kUserUpdater user_type: "SignSGD"',
    "lr": f'user_type: "Halving" [userkinds.halving_conf] {{ every: {EVERY} }}',
    "init": f'user_type: "Ramp" [userkinds.ramp_conf] {{ start: {START} step: {RAMP} }}',
}

BUILT_IN = {"alg": "alg: kBP", "updater": "type: kSGD", "lr": "type: kFixed", "init": "type: kConstant value: 0.1"}


def write_job(tmp_path: Path, **fields: str) -> Path:
    """The job file with `fields` over USER, and its shard of 32 random 6x6 images of 4 classes."""
    shard = image_shard(tmp_path / "shard", seed=2)
    src = tmp_path / "job.pbtxt"
    src.write_text(JOB.format(**{**USER, **fields}, steps=STEPS, base_lr=BASE_LR, ws=tmp_path / "ws",
                              shard=shard))
    return src


def test_a_plugins_kinds_train_a_job(tmp_path: Path) -> None:
    kinds_plugin.RecordedBP.calls.clear()
    kinds_plugin.RecordedBP.tags.clear()
    run_plan(singac.compile_file(str(write_job(tmp_path))), out=io.StringIO(), err=io.StringIO())
    assert_user_rules(tmp_path / "ws" / "checkpoint", STEPS, BASE_LR, EVERY, START, RAMP)
    calls = kinds_plugin.RecordedBP.calls
    assert [c for c in calls if c[0] == "train"] == [("train", 0, s) for s in range(STEPS)]
    assert [c for c in calls if c[0] == "test"] == [("test", 0, 0)] * 3  # steps 0, 3 and the final test
    assert set(kinds_plugin.RecordedBP.tags) == {"mine"}  # the algorithm read its own extension


def test_extensions_of_a_plan_read_before_its_plugin(tmp_path: Path) -> None:
    # the plan's bytes hold the plugin's extensions as unknown fields until its _pb2 is imported
    path = tmp_path / "job.plan"
    write_plan(seal(singac.compile_file(str(write_job(tmp_path)))), path)
    proc = subprocess.run([sys.executable, "-c", LATE_PLUGIN, str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "ws" / "checkpoint"
    w1 = params_at(folder, 0)["w1"]
    np.testing.assert_allclose(w1.ravel(), START + RAMP * np.arange(w1.size), rtol=0, atol=1e-6)
    moved = np.abs(params_at(folder, STEPS)["w1"] - params_at(folder, STEPS - 1)["w1"])
    lr = BASE_LR / 2 ** ((STEPS - 1) // EVERY)  # `every` from the extension: 1 (its default) would halve more
    np.testing.assert_allclose(moved[moved > 0], lr, rtol=0, atol=2e-7)


@pytest.mark.parametrize("field,text,line", [
    ("alg", 'user_alg: "Nope"', 8),
    ("updater", 'type: kUserUpdater user_type: "Nope"', 9),
    ("lr", 'user_type: "Nope"', 9),
    ("init", 'user_type: "Nope"', 16),
])
def test_compiler_refuses_a_name_no_plugin_registers(tmp_path: Path, field: str, text: str, line: int) -> None:
    src = write_job(tmp_path, **{field: text})
    with pytest.raises(SingaError) as err:
        singac.compile_file(str(src))
    msg = str(err.value)
    assert msg.startswith(f"{src}:{line}: ") and "'Nope', which no loaded plugin registers" in msg
    kind = {"alg": "RecordedBP", "updater": "SignSGD", "lr": "Halving", "init": "Ramp"}[field]
    assert kind in msg.split("registered: ")[1].split(", ")
    # the console script, with no plugin loaded (so no extension in the job): exit 2, one line
    src = write_job(tmp_path, **{**BUILT_IN, field: text})
    proc = run("singac", "compile", str(src), "-o", str(tmp_path / "job.plan"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert f"{src}:{line}: " in proc.stderr and "'Nope', which no loaded plugin registers" in proc.stderr
    assert not (tmp_path / "job.plan").exists()


def test_runtime_refuses_a_name_only_declared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a plugin may declare a name to the compiler alone; the runtime then names what it has
    monkeypatch.setitem(kinds.DECLARED, "updater", {*kinds.DECLARED["updater"], "Declared"})
    plan = singac.compile_file(str(write_job(tmp_path, updater='user_type: "Declared"')))
    with pytest.raises(SingaError, match=r"no updater 'Declared' is registered; known: SignSGD, kAdaGrad, "):
        run_plan(plan, out=io.StringIO(), err=io.StringIO())
    assert not (tmp_path / "ws").exists()  # refused before the workspace was made
