"""SINGA's MNIST MLP (examples/mnist/job.pbtxt) built and trained from Python.

    singart data mnist -o examples/mnist       # once: the shipped digits as two shards
    python examples/python_api/mnist_mlp.py    # from the repository root, as the job file's paths are

The job below is the same JobProto as the job file, field for field (a test checks it).
"""
from __future__ import annotations

import argparse
import sys

import singa

UNIFORM = {"type": "kUniform", "low": -0.05, "high": 0.05}
SIZES = (2500, 2000, 1500, 1000, 500, 10)


def mlp_job(folder: str = "examples/mnist", train_steps: int = 600) -> singa.Job:
    """784-2500-2000-1500-1000-500-10 with STanh units and a softmax loss, plain SGD, batch 100."""
    job = singa.Job(
        name="mlp", train_steps=train_steps, test_steps=10, test_freq=200, disp_freq=50, seed=1,
        train_one_batch={"alg": "kBP"},
        updater={"type": "kSGD", "learning_rate": {"type": "kStep", "base_lr": 0.01,
                                                   "step_conf": {"change_freq": 60, "gamma": 0.997}}},
        cluster={"nworker_groups": 1, "nserver_groups": 1, "workspace": f"{folder}/workspace"})
    for phase, other in (("train", "kTest"), ("test", "kTrain")):
        job.layer("data", "kShardData", exclude=other, sharddata_conf={
            "path": f"{folder}/mnist_{phase}_shard", "batchsize": 100, "shape": [28, 28]})
    job.layer("mnist", "kMnist", srclayers="data", mnist_conf={"norm_a": 127.5, "norm_b": 1})
    job.layer("label", "kLabel", srclayers="data")
    below = "mnist"
    for i, size in enumerate(SIZES, start=1):
        job.layer(f"fc{i}", "kInnerProduct", srclayers=below, innerproduct_conf={"num_output": size},
                  param=[singa.param(f"w{i}", init=UNIFORM), singa.param(f"b{i}", init=UNIFORM)])
        below = f"fc{i}"
        if i < len(SIZES):
            job.layer(f"tanh{i}", "kSTanh", srclayers=below)
            below = f"tanh{i}"
    job.layer("loss", "kSoftmaxLoss", softmaxloss_conf={"topk": 1}, srclayers=[below, "label"])
    return job


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=600, help="train steps (default 600)")
    p.add_argument("--data", default="examples/mnist", help="the folder of the two MNIST shards")
    args = p.parse_args()
    try:
        for phase, step, values in singa.Run(mlp_job(args.data, args.steps), overwrite=True):
            if phase == "Test":
                print(f"  -> test accuracy {values['accuracy']:.3f} at step {step}")
    except singa.SingaError as err:
        print(f"mnist_mlp: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
