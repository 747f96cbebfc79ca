"""Milliseconds per training step of singart next to PyTorch CPU: same nets, batches, threads and updater.

    python benchmarks/step_vs_torch.py [--nets ...] [--threads 1 2] [--rounds 3] [--steps 30]

Every measurement is its own process: a child measures ONE framework variant at ONE thread count on
ONE net and prints its per-step times as JSON. The parent runs the children round by round (in each
round every configuration once, singart and the PyTorch variants alternating; every other round in
reverse order) and reports, per configuration, the median of the per-process medians and their range.

singart: the worker group's step alone (the job compiled in memory, what `singart run` runs each step:
read the shard, parse, forward, backward, update), at 1 worker x 1 thread, 1 x 2 and 2 workers x 1
thread (batch partitioning, one process); and what a user sees: `singart run` as a whole process at
two train_steps, (t2 - t1) / (N2 - N1) ms a step. PyTorch, each variant with PyTorch's own defaults
(no OpenMP setting of ours): eager, eager with foreach or fused SGD, channels_last (convnets) and
torch.compile (its compile time reported apart), each step including the batch's preparation from
uint8 records. The MLP's achieved GFLOP/s is set against singart's measured sgemm peak.

The parts are in the stepbench package beside this file; children re-execute this file with --child.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# Python puts this folder on sys.path only when this file is run as a script; add it so that stepbench
# is found however the file is loaded (python -m, an import from a test), from any working directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stepbench.child import child
from stepbench.nets import NETS, ROOT, VARIANTS
from stepbench.report import Raw, Results, header, load_average, report
from stepbench.runner import measure


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="singart 1 worker and PyTorch")
    p.add_argument("--workers", type=int, default=2,
                   help="also singart with this many workers x 1 thread (1: not)")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--rounds", type=int, default=3, help="processes per configuration")
    p.add_argument("--steps", type=int, default=30, help="timed steps per process")
    p.add_argument("--warmup", type=int, default=5, help="untimed first steps per process")
    p.add_argument("--run-steps", nargs=2, type=int, default=[20, 120], metavar=("N1", "N2"),
                   help="train_steps of the two `singart run` processes (0 0: skip them)")
    p.add_argument("--omp-wait-policy", choices=["ACTIVE", "PASSIVE"],
                   help="set OMP_WAIT_POLICY for every child (default: none set; singart then picks its own "
                   "default, PyTorch libgomp's)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds a child may take")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p


def check_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Stop with a usage error on settings that cannot be measured."""
    if args.run_steps[1] and not 0 < args.run_steps[0] < args.run_steps[1]:
        p.error("--run-steps: 0 < N1 < N2 (or 0 0)")
    if args.warmup < 1 and any(VARIANTS[v].compile for v in args.variants):
        p.error("--warmup: torch.compile needs at least one untimed step")


def children_env(policy: str | None) -> dict[str, str]:
    """The environment every child starts from: ours, with OMP_WAIT_POLICY only when given."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    return env


def write_out(args: argparse.Namespace, head: list[str], body: str, raw: Raw) -> None:
    """The report as markdown and the raw results as JSON, in --out."""
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"step_vs_torch-{time.strftime('%Y%m%d-%H%M%S')}"
    stem.with_suffix(".md").write_text("\n".join(f"- {line}" for line in head) + "\n\n" + body)
    stem.with_suffix(".json").write_text(json.dumps(
        {"args": {k: v for k, v in vars(args).items() if k not in ("out", "child")},
         "results": [{"key": list(k), "processes": v} for k, v in raw.items()]}, indent=1))
    print(f"written: {stem.name}.md and .json in {args.out.name}/")


def main() -> None:
    """A child's measurement with --child; otherwise the whole benchmark."""
    p = parser()
    args = p.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    check_args(p, args)
    base_env = children_env(args.omp_wait_policy)  # taken before anything of ours can set a variable
    head = header(args)
    print("\n".join(head), flush=True)
    raw = measure(args, base_env)
    head.append(load_average("end"))
    body = report(Results(args, raw))
    print("\n" + body + "\n" + head[-1])
    write_out(args, head, body, raw)


if __name__ == "__main__":
    main()
