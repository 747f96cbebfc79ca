"""A small job for tests that run `singart run` as a real process: its plan, the console scripts, and
what its checkpoint folder holds."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import singac
from singa_proto import plan_pb2
from singa_spec.plans import seal, write_plan
from singart import checkpoint, manifests

from ..checkpoints import step_params
from ..shards import image_shard

BIN = Path(sys.executable).parent  # the console scripts installed beside this interpreter
JOB = """name: "run-mlp"
train_steps: {steps}
disp_freq: 1
checkpoint_freq: {checkpoint_freq}
seed: 3
train_one_batch {{ alg: kBP }}
updater {{ type: kSGD learning_rate {{ {learning_rate} }} }}
cluster {{ nworkers_per_group: {workers} nworker_groups: {groups} workspace: "{ws}" }}
neuralnet {{
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "{shard}" batchsize: 8 shape: 6 shape: 6 }} }}
  layer {{ name: "mnist" type: kMnist srclayers: "data" mnist_conf {{ norm_a: 255 norm_b: 0.5 }} }}
  layer {{ name: "label" type: kLabel srclayers: "data" }}
  layer {{ name: "fc1" type: kInnerProduct srclayers: "mnist" innerproduct_conf {{ num_output: 16 }}
    param {{ name: "w1" init {{ type: kUniform low: -0.3 high: 0.3 }} }} param {{ name: "b1" }} }}
  layer {{ name: "relu1" type: kReLU srclayers: "fc1" }}
  layer {{ name: "fc2" type: kInnerProduct srclayers: "relu1" innerproduct_conf {{ num_output: 16 }}
    param {{ name: "w2" init {{ type: kUniform low: -0.3 high: 0.3 }} }} param {{ name: "b2" }} }}
  layer {{ name: "relu2" type: kReLU srclayers: "fc2" }}
  layer {{ name: "fc3" type: kInnerProduct srclayers: "relu2" innerproduct_conf {{ num_output: 4 }}
    param {{ name: "w3" init {{ type: kUniform low: -0.3 high: 0.3 }} }} param {{ name: "b3" }} }}
  layer {{ name: "loss" type: kSoftmaxLoss srclayers: "fc3" srclayers: "label" }}
}}
"""
FIELDS = {"steps": 10, "checkpoint_freq": 2, "learning_rate": "type: kFixed base_lr: 0.1", "workers": 1,
          "groups": 1}


def make_plan(tmp_path: Path, **fields: object) -> Path:
    """The job's plan (with `fields` over FIELDS), its shard of 32 random 6x6 images and 4 classes."""
    shard = image_shard(tmp_path / "shard")
    values = {**FIELDS, **fields}
    if "nworkers_per_procs" not in str(values["workers"]):  # one process unless the test places them
        per_procs = int(values["workers"]) * int(values["groups"])  # type: ignore[call-overload]
        values["workers"] = f"{values['workers']} nworkers_per_procs: {per_procs}"
    src = tmp_path / "job.pbtxt"
    src.write_text(JOB.format(**values, ws=tmp_path / "ws", shard=shard))
    path = tmp_path / "job.plan"
    write_plan(seal(singac.compile_file(str(src))), path)
    return path


def command(name: str, *args: str) -> list[str]:
    """A console script's command line."""
    return [str(BIN / name), *args]


def run(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a console script to its end."""
    return subprocess.run(command(name, *args), capture_output=True, text=True, timeout=300, check=False)


def newest_complete(folder: Path) -> int | None:
    """The newest complete checkpoint step in `folder`, after reading every one of its files."""
    found = manifests.latest(folder)
    if found is None:
        return None
    step, files = found
    for path in files:
        params = checkpoint.read(path)  # loads: not torn
        assert params or path.name.endswith(checkpoint.UPDATER_SUFFIX)  # plain SGD keeps no history
    return step


def partial_files(folder: Path) -> list[str]:
    """Temp files a writer left behind."""
    return sorted(p.name for p in folder.glob(".partial-*"))


def reap(started: list[subprocess.Popen[str]]) -> None:
    """Kill and wait for the processes a test started that still run (a failing test leaves none)."""
    while started:
        proc = started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def run_compiled(folder: Path, plan: plan_pb2.PlanProto, steps: int) -> tuple[list[str], dict[str, np.ndarray], str]:
    """Write a compiled `plan` into `folder` and run it with `singart run`: its `Train @` lines (the rank
    prefix dropped), the params of its step-`steps` checkpoint, and stderr."""
    write_plan(seal(plan), folder / "job.plan")
    done = run("singart", "run", str(folder / "job.plan"))
    assert done.returncode == 0, done.stderr
    lines = [re.sub(r"^\[rank \d+\] ", "", ln) for ln in done.stdout.splitlines() if "Train @" in ln]
    return lines, step_params(folder / "ws", steps), done.stderr
