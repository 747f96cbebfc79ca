"""A small MLP with the example Scale layer plugin between its inner products, and a shard to train it;
its algorithm, updater, schedule and first init method may be a plugin's too (`USER_KINDS`)."""
from __future__ import annotations

from pathlib import Path
from string import Template

from ..shards import image_shard

ROOT = Path(__file__).resolve().parents[2]
SCALE_PLUGIN = ROOT / "examples" / "plugins" / "scale_layer.py"
HERE = Path(__file__).resolve().parent
KINDS_PLUGIN = HERE / "kinds_plugin.py"
JOB = Template("""name: "scale-mlp"
train_steps: $steps
disp_freq: 1
seed: 3
$top
train_one_batch { $alg }
updater { $updater learning_rate { $lr base_lr: 0.1 } }
cluster { nworkers_per_group: $workers workspace: "$ws" }
neuralnet {
  layer { name: "data" type: kShardData sharddata_conf { path: "$shard" batchsize: 8 shape: 6 shape: 6 } }
  layer { name: "mnist" type: kMnist srclayers: "data" mnist_conf { norm_a: 255 norm_b: 0.5 } }
  layer { name: "label" type: kLabel srclayers: "data" }
  layer { name: "fc1" type: kInnerProduct srclayers: "mnist" innerproduct_conf { num_output: 16 }
    param { name: "w1" init { $init1 } } param { name: "b1" } }
  layer { name: "scale" $kind srclayers: "fc1"
    [scale.scale_conf] { $conf }
    param { name: "s" init { type: kConstant value: $init } } }
  layer { name: "relu" type: kReLU srclayers: "scale" }
  layer { name: "fc2" type: kInnerProduct srclayers: "relu" innerproduct_conf { num_output: 4 }
    param { name: "w2" init { type: kUniform low: -0.3 high: 0.3 } } param { name: "b2" } }
  layer { name: "loss" type: kSoftmaxLoss srclayers: "fc2" srclayers: "label" }
}
""")
DEFAULTS = {"steps": 30, "workers": "1", "kind": 'type: kUserLayer user_type: "Scale"', "conf": "factor: 2",
            "init": 0.5, "top": "", "alg": "alg: kBP", "updater": "type: kSGD", "lr": "type: kFixed",
            "init1": "type: kUniform low: -0.3 high: 0.3"}
# the kinds of kinds_plugin.py: w1 starts as a ramp, every update moves by the halving rate's sign
EVERY, START, RAMP = 2, -0.5, 0.001
USER_KINDS = {"alg": 'user_alg: "RecordedBP"', "updater": 'type: kUserUpdater user_type: "SignSGD"',
              "lr": f'user_type: "Halving" [userkinds.halving_conf] {{ every: {EVERY} }}',
              "init1": f'user_type: "Ramp" [userkinds.ramp_conf] {{ start: {START} step: {RAMP} }}'}


def write_job(folder: Path, **fields: object) -> Path:
    """The job file (with `fields` over DEFAULTS) and its shard of 32 random 6x6 images of 4 classes."""
    shard = image_shard(folder / "shard")
    path = folder / "job.pbtxt"
    path.write_text(JOB.substitute({**DEFAULTS, **fields}, ws=folder / "ws", shard=shard))
    return path
