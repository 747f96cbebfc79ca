"""Milliseconds per training step of singart next to PyTorch CPU: same net, batch, threads and updater.

    python benchmarks/step_vs_torch.py [--nets mlp lenet cifar10] [--threads 1 2] [--steps 30]

Each net is compiled from its example job file in memory (batch overridden, a synthetic shard of the
right record shape), trained through the runtime's WorkerGroup (what `singart run` runs each step) and,
interleaved step by step in the same process, as the same net in PyTorch. Each thread count runs in a
fresh subprocess, because OpenMP thread pools are sized at start. The last table is the speedup of two
in-process workers (batch partitioning, one core each) over one worker on one core, same batch.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# net -> (job file, batch, record shape)
NETS: dict[str, tuple[str, int, tuple[int, ...]]] = {
    "mlp": ("examples/mnist/job.pbtxt", 64, (28, 28)),
    "lenet": ("examples/mnist/lenet.pbtxt", 64, (28, 28)),
    "cifar10": ("examples/cifar10/job.pbtxt", 100, (3, 32, 32)),
}
RECORDS = 2048  # records in each synthetic shard: the reader wraps around it


# --- singart ---------------------------------------------------------------------------------------
def synthetic_shard(folder: Path, shape: tuple[int, ...]) -> str:
    """A shard of random uint8 records of `shape` with labels 0..9 (written once per folder)."""
    from singart.data.convert import write_image_shard

    path = folder / ("shard-" + "x".join(map(str, shape)))
    if not path.exists():
        rng = np.random.default_rng(0)
        write_image_shard(str(path), rng.integers(0, 256, (RECORDS, *shape), dtype=np.uint8),
                          rng.integers(0, 10, RECORDS), interval=1e9)
    return str(path)


def job_for(net: str, workers: int, folder: Path):  # -> JobProto (imported lazily)
    """The example job of `net` with the benchmark's batch, a synthetic shard and no test phase."""
    from google.protobuf import text_format
    from singa_proto import job_pb2

    path, batch, shape = NETS[net]
    job = text_format.Parse((ROOT / path).read_text(), job_pb2.JobProto())
    job.test_steps = job.validate_steps = 0
    job.cluster.nworkers_per_group = workers
    job.cluster.workspace = str(folder / "ws")
    for layer in job.neuralnet.layer:
        if layer.type == job_pb2.kShardData:
            layer.sharddata_conf.batchsize = batch
            layer.sharddata_conf.path = synthetic_shard(folder, shape)
            layer.sharddata_conf.random_skip = 0
        if layer.type == job_pb2.kRGBImage and layer.rgbimage_conf.meanfile:
            layer.rgbimage_conf.meanfile = mean_file(folder, shape)
    return job


def mean_file(folder: Path, shape: tuple[int, ...]) -> str:
    """A mean image of the synthetic records."""
    from singart.data.convert import write_mean_image

    path = folder / "mean.bin"
    if not path.exists():
        write_mean_image(str(path), np.random.default_rng(1).integers(0, 256, (16, *shape), dtype=np.uint8))
    return str(path)


def singart_step(net: str, workers: int, folder: Path) -> Callable[[int], None]:
    """One TrainOneBatch of `net` through the runtime's worker group (`step` -> None)."""
    import singac
    from singa_proto import job_pb2
    from singac.source import Source
    from singart import store
    from singart.train import find_graph
    from singart.worker import WorkerGroup

    job = job_for(net, workers, folder)
    plan = singac.compile_job(job, Source(NETS[net][0]))
    graph = find_graph(plan, job_pb2.kTrain)
    params, _ = store.build(plan, graph)
    group = WorkerGroup(graph, params, plan.job.seed, train=True)
    return group.run


# --- PyTorch ---------------------------------------------------------------------------------------
def torch_net(net: str):  # -> (module, optimizer)
    """The same layers, init-independent, with the example's SGD settings."""
    import torch
    from torch import nn

    class STanh(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 1.7159 * torch.tanh(x * (2.0 / 3.0))

    if net == "mlp":
        sizes = [784, 2500, 2000, 1500, 1000, 500]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in itertools.pairwise(sizes):
            layers += [nn.Linear(a, b), STanh()]
        model = nn.Sequential(*layers, nn.Linear(500, 10))
        return model, torch.optim.SGD(model.parameters(), lr=0.01)
    if net == "lenet":
        model = nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2, 2),
                              nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
        return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=0.0005)
    model = nn.Sequential(nn.Conv2d(3, 32, 5, padding=2), nn.MaxPool2d(3, 2), nn.ReLU(), _lrn(),
                          nn.Conv2d(32, 32, 5, padding=2), nn.ReLU(), nn.AvgPool2d(3, 2), _lrn(),
                          nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.AvgPool2d(3, 2),
                          nn.Flatten(), nn.Linear(576, 10))
    return model, torch.optim.SGD(model.parameters(), lr=0.001, weight_decay=0.004)


def _lrn():  # -> nn.Module
    from torch import nn

    return nn.LocalResponseNorm(3, alpha=5e-5, beta=0.75, k=1.0)


def torch_step(net: str) -> Callable[[int], None]:
    """One training step in PyTorch on a batch cut from synthetic uint8 records, as ours reads them."""
    import torch

    _, batch, shape = NETS[net]
    model, opt = torch_net(net)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (RECORDS, *shape), dtype=np.uint8))
    labels = torch.from_numpy(rng.integers(0, 10, RECORDS))
    channels = 1 if len(shape) == 2 else shape[0]

    def step(i: int) -> None:
        at = (i * batch) % (RECORDS - batch)
        x = (images[at:at + batch].float() / 255.0).reshape(batch, channels, *shape[-2:])
        opt.zero_grad(set_to_none=False)
        loss_fn(model(x), labels[at:at + batch]).backward()
        opt.step()

    return step


# --- timing ----------------------------------------------------------------------------------------
def timed(fn: Callable[[int], None], i: int) -> float:
    t0 = time.perf_counter()
    fn(i)
    return (time.perf_counter() - t0) * 1e3


def measure(steps: dict[str, Callable[[int], None]], warmup: int, n: int) -> dict[str, float]:
    """Median ms per step of each callable, run interleaved so that machine load hits all alike."""
    for i in range(warmup):
        for fn in steps.values():
            fn(i)
    times: dict[str, list[float]] = {k: [] for k in steps}
    for i in range(warmup, warmup + n):
        for k, fn in steps.items():
            times[k].append(timed(fn, i))
    return {k: statistics.median(v) for k, v in times.items()}


def child(args: argparse.Namespace) -> None:
    """Measure in this process at `args.threads` threads; print one JSON line per net."""
    import torch
    from singart import ops

    threads = args.threads[0]
    ops.set_num_threads(threads)
    torch.set_num_threads(threads)
    folder = Path(tempfile.mkdtemp(prefix="step-vs-torch-"))
    for net in args.nets:
        steps: dict[str, Callable[[int], None]] = {"ours": singart_step(net, 1, folder)}
        if args.workers > 1:
            steps["ours2"] = singart_step(net, args.workers, folder)
        else:
            steps["torch"] = torch_step(net)
        print(json.dumps({"net": net, "threads": threads, **measure(steps, args.warmup, args.steps)}),
              flush=True)


def run_child(args: argparse.Namespace, threads: int, workers: int) -> list[dict]:
    cmd = [sys.executable, __file__, "--child", "--threads", str(threads), "--workers", str(workers),
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--nets", *args.nets]
    # both frameworks share the process's one libgomp: give it singart's default wait policy up front
    env = {"OMP_WAIT_POLICY": "PASSIVE", **os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"step_vs_torch: the {threads}-thread run failed:\n{done.stderr}")
    out = done.stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--steps", type=int, default=30, help="timed steps (medians)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    # other work on the machine skews two-thread timings most (a descheduled thread stalls its team)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'PASSIVE')}")
    print(f"{'net':8} {'batch':>5} {'thr':>3} {'singart ms':>10} {'torch ms':>9} {'ratio':>6}")
    for t in args.threads:
        for r in run_child(args, t, 1):
            print(f"{r['net']:8} {NETS[r['net']][1]:5d} {t:3d} {r['ours']:10.1f} {r['torch']:9.1f} "
                  f"{r['ours'] / r['torch']:6.2f}")
    print(f"\n{'net':8} {'1 worker, 1 core ms':>20} {'2 workers, 2 cores ms':>22} {'speedup':>8}")
    for r in run_child(args, 1, 2):
        print(f"{r['net']:8} {r['ours']:20.1f} {r['ours2']:22.1f} {r['ours'] / r['ours2']:8.2f}")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
