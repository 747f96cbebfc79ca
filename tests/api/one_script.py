"""A whole job in one script: its own layer (a learned offset per feature) and updater (sign steps)
registered through the Python API, the job built with it, trained in this process; then the plan
written for `singart run`. Prints the layer's call counts and the losses as JSON.

    python one_script.py SHARD WORKSPACE PLAN
"""
from __future__ import annotations

import io
import json
import math
import sys

import numpy as np
import singa

calls = {"forward": 0, "backward": 0}


@singa.layer("Offset", params=lambda conf, in_shape: [("offset", (math.prod(in_shape[1:]),))])
class Offset(singa.NumpyLayer):
    """y = x + offset, per feature."""

    def forward(self, inputs):
        calls["forward"] += 1
        return inputs[0] + self.params["offset"]

    def backward(self, grad_out):
        calls["backward"] += 1
        self.grads["offset"][...] = grad_out.sum(axis=0)
        return grad_out


def sign_step(u, w, g, tmp, slots, lr, t):
    """w -= lr * sign(g)."""
    w -= lr * np.sign(g)


singa.register_updater("SignStep", sign_step)


def job(shard: str, workspace: str) -> singa.Job:
    """6x6 images -> 8 -> Offset -> 4 classes, the script's updater at a fixed rate of 0.01."""
    job = singa.Job("one-script", train_steps=5, disp_freq=1, checkpoint_freq=1, checkpoint_keep=0, seed=2,
                    train_one_batch={"alg": "kBP"},
                    updater={"user_type": "SignStep", "learning_rate": {"type": "kFixed", "base_lr": 0.01}},
                    cluster={"workspace": workspace})
    job.layer("data", "kShardData", sharddata_conf={"path": shard, "batchsize": 8, "shape": [6, 6]})
    job.layer("mnist", "kMnist", srclayers="data", mnist_conf={"norm_a": 255, "norm_b": 0.5})
    job.layer("label", "kLabel", srclayers="data")
    job.layer("fc1", "kInnerProduct", srclayers="mnist", innerproduct_conf={"num_output": 8},
              param=[singa.param("w1", init={"type": "kUniform", "low": -0.3, "high": 0.3}), singa.param("b1")])
    job.layer("offset", user_type="Offset", srclayers="fc1", param=singa.param("o"))
    job.layer("fc2", "kInnerProduct", srclayers="offset", innerproduct_conf={"num_output": 4},
              param=[singa.param("w2", init={"type": "kUniform", "low": -0.3, "high": 0.3}), singa.param("b2")])
    job.layer("loss", "kSoftmaxLoss", srclayers=["fc2", "label"])
    return job


if __name__ == "__main__":
    shard, workspace, plan = sys.argv[1:]
    summary = singa.run(job(shard, workspace), out=io.StringIO())
    job(shard, workspace + "-cli").compile(plan)
    losses = [m.values["loss"] for m in summary.history if m.phase == "Train"]
    print(json.dumps({**calls, "losses": losses}))
