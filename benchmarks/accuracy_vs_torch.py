"""Test accuracy of the MNIST examples trained by singart next to the same nets trained in PyTorch.

    python benchmarks/accuracy_vs_torch.py [--nets mnist-mlp lenet] [--seeds 1 2 3] [--quick]

For each example and each seed (the job's `seed:`), in a temporary folder: `singart data mnist` writes
the shipped digits (4,000 train / 1,000 test), `singac compile` and `singart run` train the example job,
and the `Test @ step N` lines are read from its output. PyTorch then trains the net twice:

- the twin: the same net from the compiled plan with the very same initial values (the runtime's
  seeded param init), the same batches in the same order (the shards read with singart.data, wrapping
  as kShardData does), SINGA's updater rules and learning-rate schedules (written out again here from
  the v0.1 semantics, not imported). It shows that singart computes what the job says.
- the idiomatic baseline: what a PyTorch user would write for the job: nn.Linear / nn.Conv2d layers
  with PyTorch's default init (torch.manual_seed(seed)), a DataLoader shuffling the same training
  digits each epoch (same preprocessing and batch size), CrossEntropyLoss, torch.optim.SGD with the
  job's lr, momentum and weight decay (per-param lr_scale and wd_scale as param groups) and the job's
  schedule as a torch scheduler (StepLR for kStep, LambdaLR otherwise). It shows whether the example's
  accuracy is what PyTorch reaches with its own defaults.

All three test on the same 1,000 digits at the same steps. The summary gives, per net and side, the mean
final accuracy over the seeds and its range and standard deviation, and the twin's largest gap.
`--quick` trains a few steps only, a smoke check of the whole pipeline.

The parts are in the accbench package beside this file (and stepbench's, which it shares).
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Python puts this folder on sys.path only when this file is run as a script; add it so that accbench
# and stepbench are found however the file is loaded (python -m, an import from a test).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from accbench.curve import Curve
from accbench.idiomatic import train_idiomatic
from accbench.singart_cli import check_coverage, job_text, run_cli, train_singart
from accbench.twin import train_torch
from singa_proto import plan_pb2
from stepbench.nets import NETS as STEP_NETS
from stepbench.nets import ROOT

# net -> (accuracy target in %, train steps under --quick); the job files are the step benchmark's
NETS: dict[str, tuple[float, int]] = {
    "mnist-mlp": (92.0, 40),
    "lenet": (97.0, 100),
}
MAX_GAP = 0.5  # points of accuracy the two may differ by
SIDES = ("singart", "twin", "idiomatic")


@dataclass
class Run:
    """One seed of one net: final accuracy (%) and seconds of each side."""

    accuracy: dict[str, float]
    seconds: dict[str, float]


def compare(net: str, quick: bool, seed: int) -> Run:
    """Train `net` with `seed` the three ways; print the three test curves."""
    _, quick_steps = NETS[net]
    with tempfile.TemporaryDirectory(prefix=f"acc-{net}-") as tmp:
        work = Path(tmp)
        run_cli(["singart", "data", "mnist", "-o", "examples/mnist"], work)
        job = job_text(ROOT / STEP_NETS[net].job, quick_steps if quick else None, seed)
        plan, ours, secs = train_singart(work, job)
        check_coverage(plan, work)
        twin_curve, twin_secs = train_torch(plan, work)
        idio_curve, idio_secs = train_idiomatic(plan, work, seed)
    curves = dict(zip(SIDES, (ours, twin_curve, idio_curve), strict=True))
    print_curves(net, seed, plan, curves)
    end = plan.job.train_steps
    run = Run({side: 100 * curves[side].get(end, (math.nan, math.nan))[1] for side in SIDES},
              dict(zip(SIDES, (secs, twin_secs, idio_secs), strict=True)))
    print("time: " + ", ".join(f"{side} {run.seconds[side]:.0f} s" for side in SIDES)
          + " (singart: the whole `singart run` process)")
    return run


def print_curves(net: str, seed: int, plan: plan_pb2.PlanProto, curves: dict[str, Curve]) -> None:
    """Each side's test loss and accuracy at the twin's test steps."""
    print(f"\n{net}, seed {seed}: {plan.job.train_steps} steps; test loss / accuracy on all 1,000 "
          "test digits")
    print(f"{'step':>6} " + " ".join(f"{side:>18}" for side in SIDES))
    for step in sorted(curves["twin"]):
        cells = [curves[side].get(step, (math.nan, math.nan)) for side in SIDES]
        print(f"{step:>6} " + " ".join(f"{loss:>9.5f} {100 * acc:>7.2f}%" for loss, acc in cells))


def spread(values: list[float]) -> str:
    """min-max and the standard deviation of `values`."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{min(values):.2f}-{max(values):.2f}, sd {sd:.2f}"


def summary_row(net: str, side: str, got: list[Run], quick: bool) -> tuple[str, bool]:
    """One side's line of the summary table, and whether it misses the net's target."""
    target = NETS[net][0]
    gap = max(abs(r.accuracy["singart"] - r.accuracy["twin"]) for r in got)
    accs = [r.accuracy[side] for r in got]
    mean, secs = statistics.fmean(accs), statistics.fmean(r.seconds[side] for r in got)
    met, missed = "-", False
    if side == "singart" and not quick:
        ok = mean >= target and gap <= MAX_GAP
        met, missed = ("yes" if ok else "NO"), not ok
    return (f"| {net} | {side} | {mean:.2f} ({spread(accs)}) | "
            f"{f'{gap:.2f} (<= {MAX_GAP})' if side == 'twin' else '-'} | {secs:.0f} | "
            f"{f'>= {target:.0f} %' if side == 'singart' else '-'} | {met} |"), missed


def main() -> int:
    """Every net and seed the three ways, then the summary; 1 when singart misses a target."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", nargs="+", choices=list(NETS), default=list(NETS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="the jobs' seed: values")
    ap.add_argument("--quick", action="store_true", help="train a few steps only (a smoke check)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(), help="PyTorch threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    runs = {net: [compare(net, args.quick, seed) for seed in args.seeds] for net in args.nets}
    print(f"\nfinal test accuracy over seeds {' '.join(map(str, args.seeds))}: mean (min-max, sd)\n")
    print("| net | side | accuracy % | twin gap, max points | time s (mean) | target | met |")
    print("|---|---|---|---|---|---|---|")
    failed = False
    for net, got in runs.items():
        for side in SIDES:
            line, missed = summary_row(net, side, got, args.quick)
            print(line)
            failed |= missed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
