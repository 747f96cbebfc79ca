"""Milliseconds per CD-1 step of an RBM (784 x 1000, batch 100) in singart next to PyTorch CPU.

    python benchmarks/rbm_vs_torch.py [--threads 1 2] [--rounds 5] [--steps 30] [--warmup 5]

As step_vs_torch.py: every measurement is its own process (one framework, one thread count), printing
its per-step times as JSON; the parent runs the children round by round, singart and PyTorch
alternating (every other round in reverse order), and reports per configuration the median of the
per-process medians and their range, and the ratio to PyTorch's fastest variant (eager, or the step's
tensor math under torch.compile).

singart: the worker group's step of examples/rbm/rbm1.pbtxt's net (kCD, the job compiled in memory:
read the shard, parse, positive phase, Gibbs step, gradients, momentum update). PyTorch: the same CD-1
written as one would in PyTorch (tensors, no autograd, torch.optim.SGD with momentum), its batch taken
from uint8 records as singart's is. Both on synthetic 28 x 28 records.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stepbench.child import timed_steps
from stepbench.report import load_average, machine, versions

VDIM, HDIM, BATCH, RECORDS, LR, MOMENTUM = 784, 1000, 100, 1000, 0.1, 0.8
JOB = f"""name: "rbm-bench"
train_steps: 1000000
seed: 1
train_one_batch {{ alg: kCD }}
updater {{ type: kSGD momentum: {MOMENTUM} learning_rate {{ type: kFixed base_lr: {LR} }} }}
cluster {{ workspace: "{{ws}}" }}
neuralnet {{
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "{{shard}}" batchsize: {BATCH} shape: 28 shape: 28 }} }}
  layer {{ name: "mnist" type: kMnist srclayers: "data" mnist_conf {{ norm_a: 255 norm_b: 0 }} }}
  layer {{ name: "vis" type: kRBMVis srclayers: "mnist" srclayers: "hid" rbm_conf {{ hdim: {HDIM} }}
    param {{ name: "w" init {{ type: kGaussian std: 0.1 }} }} param {{ name: "bv" }} }}
  layer {{ name: "hid" type: kRBMHid srclayers: "vis" rbm_conf {{ hdim: {HDIM} }}
    param {{ name: "w_" share_from: "w" }} param {{ name: "bh" }} }}
}}
"""


def records():
    import numpy as np

    return np.random.default_rng(0).integers(0, 256, (RECORDS, 28, 28), dtype=np.uint8)


def singart_step(folder: Path, threads: int):
    """The worker group's training step of the RBM job, with the job's algorithm (kCD)."""
    import numpy as np
    import singac
    from singa_proto import job_pb2
    from singart import ops, store
    from singart.algorithms import make_algorithm
    from singart.data.convert import write_image_shard
    from singart.train import find_graph
    from singart.worker import WorkerGroup

    write_image_shard(str(folder / "shard"), records(), np.zeros(RECORDS, np.int64), interval=1e9)
    src = folder / "rbm.pbtxt"
    src.write_text(JOB.replace("{ws}", str(folder / "ws")).replace("{shard}", str(folder / "shard")))
    plan = singac.compile_file(str(src))
    graph = find_graph(plan, job_pb2.kTrain)
    values, _ = store.build(plan, graph)
    ops.set_num_threads(threads)
    return WorkerGroup(graph, values, plan.job.seed, train=True,
                       algorithm=make_algorithm(plan.job.train_one_batch)).run


def torch_step(threads: int, compiled: bool = False):
    """CD-1 as a PyTorch user writes it; `compiled`: the step's tensor math under torch.compile (the
    optimizer's update stays eager, as torch.optim's fused kernels are its own)."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    data = torch.from_numpy(records().reshape(RECORDS, -1))
    w = torch.randn(HDIM, VDIM) * 0.1
    bv, bh = torch.zeros(VDIM), torch.zeros(HDIM)
    opt = torch.optim.SGD([w, bv, bh], lr=LR, momentum=MOMENTUM)

    def gradients(raw: torch.Tensor, w: torch.Tensor, bv: torch.Tensor, bh: torch.Tensor):
        v0 = raw.float() / 255
        h0 = torch.sigmoid(torch.addmm(bh, v0, w.t()))
        v1 = torch.sigmoid(torch.addmm(bv, torch.bernoulli(h0), w))
        h1 = torch.sigmoid(torch.addmm(bh, v1, w.t()))
        error = ((v0 - v1) ** 2).sum(1).mean()  # the reconstruction error, as singart reports it
        return (h1.t() @ v1 - h0.t() @ v0) / BATCH, (v1 - v0).mean(0), (h1 - h0).mean(0), error

    grads_of = torch.compile(gradients) if compiled else gradients

    @torch.no_grad()
    def step(i: int) -> None:
        start = i * BATCH % RECORDS
        w.grad, bv.grad, bh.grad, step.error = grads_of(data[start:start + BATCH], w, bv, bh)
        opt.step()
    return step


def child(spec: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kind, threads = spec["kind"], spec["threads"]
        step = (singart_step(Path(tmp), threads) if kind == "singart"
                else torch_step(threads, compiled=kind == "torch-compile"))
        print(json.dumps(timed_steps(step, spec["warmup"], spec["steps"])), flush=True)


def measure(kind: str, threads: int, args: argparse.Namespace) -> float:
    """One child process's median ms a step."""
    spec = {"kind": kind, "threads": threads, "warmup": args.warmup, "steps": args.steps}
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], env=env, capture_output=True,
                          text=True, check=False, timeout=1800)
    if done.returncode:
        raise SystemExit(f"{kind} at {threads} threads failed: {done.stderr.strip()[-2000:]}")
    return statistics.median(json.loads(done.stdout.splitlines()[-1])["times_ms"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--rounds", type=int, default=5, help="processes per configuration")
    p.add_argument("--steps", type=int, default=30, help="timed steps per process")
    p.add_argument("--warmup", type=int, default=5, help="untimed first steps per process")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    print(f"rbm_vs_torch: CD-1, {VDIM} x {HDIM}, batch {BATCH}\n{machine()}\n{versions()}\n{load_average('start')}")
    kinds = ["singart", "torch", "torch-compile"]
    medians: dict[tuple[str, int], list[float]] = {}
    for r in range(args.rounds):
        for threads in args.threads:
            for kind in kinds if r % 2 == 0 else kinds[::-1]:
                medians.setdefault((kind, threads), []).append(measure(kind, threads, args))
    print("\n| threads | variant | ms (median, min-max over processes) | vs PyTorch's fastest |\n|---|---|---|---|")
    for threads in args.threads:
        fastest = min(statistics.median(medians[k, threads]) for k in kinds if k != "singart")
        for kind in kinds:
            m = medians[kind, threads]
            print(f"| {threads} | {kind} | {statistics.median(m):.2f} ({min(m):.2f}-{max(m):.2f}) | "
                  f"{statistics.median(m) / fastest:.2f}x |")
    print(load_average("end"))


if __name__ == "__main__":
    main()
