"""Small RBM jobs for the CD tests: a shard of random digits and a 36 <-> 5 RBM pair over it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from singart.data.convert import write_image_shard

SIDE, HDIM, SEED = 6, 5, 11


def write_shard(folder: Path, n: int = 16) -> np.ndarray:
    """A shard of `n` random SIDE x SIDE images; returns them as the kMnist layer makes them (x / 255)."""
    images = np.random.default_rng(3).integers(0, 256, (n, SIDE, SIDE), dtype=np.uint8)
    write_image_shard(str(folder), images, np.zeros(n, dtype=np.int64), interval=1e9)
    return images.reshape(n, -1).astype(np.float32) / np.float32(255)


def rbm_job(shard: Path, ws: Path, steps: int = 1, k: int = 1, gaussian: bool = False, workers: int = 1,
            batch: int = 8, updater: str = "type: kSGD", lr: float = 1.0, cluster: str = "",
            below: str = "", top: str = "mnist", head: str = "", hdim: int = HDIM) -> str:
    """shard -> mnist [-> `below`, ending in layer `top`] -> the RBM pair (vis <-> hid sharing w);
    plain SGD by default, so a step's update is -lr times its gradient. `head`: more job fields."""
    uniform = "init { type: kUniform low: -0.5 high: 0.5 }"
    return f"""name: "rbm"
train_steps: {steps}
disp_freq: 1
seed: {SEED}
{head}
train_one_batch {{ alg: kCD cd_conf {{ cd_k: {k} }} }}
updater {{ {updater} learning_rate {{ type: kFixed base_lr: {lr} }} }}
cluster {{ nworkers_per_group: {workers} workspace: "{ws}" {cluster} }}
neuralnet {{
  partition_dim: 0
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "{shard}" batchsize: {batch} shape: {SIDE} shape: {SIDE} }} }}
  layer {{ name: "mnist" type: kMnist srclayers: "data" mnist_conf {{ norm_a: 255 norm_b: 0 }} }}
{below}
  layer {{ name: "vis" type: kRBMVis srclayers: "{top}" srclayers: "hid" rbm_conf {{ hdim: {hdim} }}
          param {{ name: "w" {uniform} }} param {{ name: "bv" {uniform} }} }}
  layer {{ name: "hid" type: kRBMHid srclayers: "vis" rbm_conf {{ hdim: {hdim} gaussian: {str(gaussian).lower()} }}
          param {{ name: "w_" share_from: "w" }} param {{ name: "bh" {uniform} }} }}
}}
"""
