"""ms per training step of the MNIST MLP and the CIFAR-10 net run as several processes (Sandblaster with
1 and 2 worker processes and a server process, AllReduce over 2 processes) against the one-process run
(1 and 2 workers as threads); the share of a step the worker ranks spend in their pushes and pulls, and
the GB/s of that parameter path. Prints tables of medians with [min-max] over the rounds; asserts nothing.

Every measurement is a whole `singart run` process tree, timed from outside at two lengths: a step costs
(T(long) - T(short)) / (long - short), which leaves out start-up, compilation and the final checkpoint.
The layouts alternate within each round. Worker ranks report their push and pull time and bytes when
SINGART_REPORT_COMM=1 (set here); their per-step figures come from the long run (first step included).

    python benchmarks/processes.py                                  # both nets, 3 rounds, 5 and 25 steps
    python benchmarks/processes.py --nets mnist-mlp --rounds 1 --steps 2 6    # smoke
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stepbench.nets import bench_job, write_text_job
from stepbench.runner import compile_plan, console

NETS = ("mnist-mlp", "cifar10-singa")
# layout -> (nworkers_per_group, nworkers_per_procs, server_worker_separate)
LAYOUTS: dict[str, tuple[int, int, bool]] = {
    "in-process, 1 worker": (1, 1, False),
    "in-process, 2 worker threads": (2, 2, False),
    "Sandblaster, 1 worker proc + server proc": (1, 1, True),
    "Sandblaster, 2 worker procs + server proc": (2, 1, True),
    "AllReduce, 2 procs": (2, 1, False),
}
COMM = re.compile(r"rank (\d+) comm (\{.*\})")


def make_plan(net: str, layout: str, steps: int, folder: Path) -> Path:
    """The example job of `net` (benchmark batch, synthetic shard) in `layout`, compiled."""
    per_group, per_procs, separate = LAYOUTS[layout]
    name = f"{net}-{list(LAYOUTS).index(layout)}-{steps}"
    job = bench_job(net, folder, per_group, steps, folder / f"ws-{name}")
    job.cluster.nworkers_per_procs = per_procs
    job.cluster.server_worker_separate = separate
    job.checkpoint_freq, job.disp_freq = 0, steps
    return compile_plan(write_text_job(job, folder / f"{name}.pbtxt"), folder / f"{name}.plan")


def run_once(plan: Path, env: dict[str, str]) -> tuple[float, dict[int, dict]]:
    """Wall seconds of `singart run plan`, and each worker rank's comm report."""
    shutil.rmtree(plan.with_suffix("").parent / f"ws-{plan.stem}", ignore_errors=True)
    began = time.perf_counter()
    done = subprocess.run([*console("singart"), "run", str(plan), "--overwrite"], env=env,
                          capture_output=True, text=True, check=False, timeout=1800)
    seconds = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"{plan}: singart run failed: {done.stderr.strip()[-2000:]}")
    return seconds, {int(r): json.loads(c) for r, c in COMM.findall(done.stderr)}


def per_step(short: tuple[float, dict], long: tuple[float, dict], steps: tuple[int, int]) -> dict:
    """ms per step (the difference of the two lengths); from the long run, the mean over worker ranks of
    push+pull ms per step, MB per step and GB/s (bytes / seconds in push and pull)."""
    out = {"ms": (long[0] - short[0]) / (steps[1] - steps[0]) * 1e3}
    reports = [c for c in long[1].values() if c["seconds"] > 0]
    if reports:
        out["comm_ms"] = statistics.mean(c["seconds"] / c["steps"] for c in reports) * 1e3
        out["mb_step"] = statistics.mean(c["bytes"] / c["steps"] for c in reports) / 1e6
        out["gbps"] = statistics.mean(c["bytes"] / c["seconds"] for c in reports) / 1e9
    return out


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """`median [min-max]`."""
    if not values:
        return "-"
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def table(net: str, results: dict[str, list[dict]]) -> str:
    """One net's markdown table."""
    lines = [f"### {net}", "", "| layout | ms / step | push+pull ms / step | share | MB / step / worker | GB/s |",
             "|---|---|---|---|---|---|"]
    for layout, rows in results.items():
        ms = [r["ms"] for r in rows]
        comm = [r["comm_ms"] for r in rows if "comm_ms" in r]
        share = [r["comm_ms"] / r["ms"] * 100 for r in rows if "comm_ms" in r and r["ms"] > 0]
        mb = [r["mb_step"] for r in rows if "mb_step" in r]
        gbps = [r["gbps"] for r in rows if "gbps" in r]
        lines.append(f"| {layout} | {spread(ms)} | {spread(comm)} | {spread(share, '{:.0f}')} % | "
                     f"{spread(mb, '{:.0f}')} | {spread(gbps, '{:.2f}')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", nargs="+", default=list(NETS), choices=NETS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, nargs=2, default=(5, 25), help="the short and long run")
    args = parser.parse_args()
    env = {**os.environ, "SINGART_REPORT_COMM": "1", "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="processes-") as tmp:
        folder = Path(tmp)
        plans = {(net, lay, n): make_plan(net, lay, n, folder) for net in args.nets for lay in LAYOUTS
                 for n in args.steps}
        results: dict[str, dict[str, list[dict]]] = {net: {lay: [] for lay in LAYOUTS} for net in args.nets}
        for r in range(args.rounds):
            for net in args.nets:
                for lay in LAYOUTS:  # alternating: every layout once per round
                    short, long = (run_once(plans[net, lay, n], env) for n in args.steps)
                    results[net][lay].append(per_step(short, long, args.steps))
                    print(f"round {r + 1} {net} {lay}: {results[net][lay][-1]['ms']:.1f} ms/step",
                          file=sys.stderr, flush=True)
    for net in args.nets:
        print(table(net, results[net]) + "\n")


if __name__ == "__main__":
    main()
