"""ms per training step of the MNIST MLP and the CIFAR-10 net run as several processes (Sandblaster with
1 and 2 worker processes and a server process, AllReduce over 2 processes) against the one-process run
(1 and 2 workers as threads), timed inside the processes; the part of a step spent in pushes and pulls,
and the GB/s of that parameter path. Prints tables of medians with [min-max] over the rounds.

Every figure is timed inside the process that trains, so start-up, compilation and the final checkpoint
never enter it. A worker rank of a multi-process run reports each step's wall time and its pushes and
pulls (SINGART_REPORT_COMM=1, set here): a row's ms / step is the median over its worker ranks' steps
after the warm-up. The one-process rows time the worker group's step in a child process (the step
benchmark's own child, stepbench) twice: at its defaults (every core this process may use) and at one
kernel thread per worker, the setting the process rows run at.

    python benchmarks/processes.py                                  # both nets, 3 rounds, 20 steps
    python benchmarks/processes.py --nets mnist-mlp --rounds 1 --steps 6 --warmup 2    # smoke
    python benchmarks/processes.py --nets mnist-mlp --clip-norm 1    # each layout also with clip_norm

With --clip-norm every layout runs a second time with `updater { clip_norm }` set (its row labelled so):
a group in one process clips in its worker process, a group over several processes on its servers.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stepbench.nets import bench_job, write_text_job
from stepbench.runner import SCRIPT, compile_plan, console

NETS = ("mnist-mlp", "cifar10-singa")
RAW_GRPC_GBPS = "0.55-0.63"  # transport.py: raw bytes client -> server over gRPC, 1-16 MB, this machine kind
# in-process layouts: label -> (workers, kernel threads per worker; 0: the defaults, every core)
IN_PROCESS: dict[str, tuple[int, int]] = {
    "in-process, 1 worker, defaults (all cores)": (1, 0),
    "in-process, 1 worker, 1 kernel thread": (1, 1),
    "in-process, 2 worker threads, defaults (all cores)": (2, 0),
    "in-process, 2 worker threads, 1 kernel thread each": (2, 1),
}
# multi-process layouts, one kernel thread per worker: label -> (nworkers_per_group, nworkers_per_procs,
# server_worker_separate)
PROCESSES: dict[str, tuple[int, int, bool]] = {
    "Sandblaster, 1 worker proc + server proc": (1, 1, True),
    "Sandblaster, 2 worker procs + server proc": (2, 1, True),
    "AllReduce, 2 procs": (2, 1, False),
}
COMM = re.compile(r"rank (\d+) comm (\{.*\})")


CLIPPED = ", clip_norm"  # the suffix of a layout's clipped twin (--clip-norm)


def in_process(net: str, layout: str, args: argparse.Namespace, folder: Path) -> dict:
    """The median ms of the worker group's step after the warm-up, in a child process."""
    base, clip = layout.removesuffix(CLIPPED), layout.endswith(CLIPPED)
    workers, threads = IN_PROCESS[base]
    job = bench_job(net, folder, workers, 1, folder / "ws-group")
    job.updater.clip_norm = args.clip_norm if clip else 0
    job = write_text_job(job, folder / f"{net}-w{workers}{'-clip' if clip else ''}.pbtxt")
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads * workers)
    else:
        env.pop("OMP_NUM_THREADS", None)
    spec = {"kind": "group", "net": net, "job": job, "threads": threads or len(os.sched_getaffinity(0)),
            "warmup": args.warmup, "steps": args.steps}
    done = subprocess.run([sys.executable, str(SCRIPT), "--child", json.dumps(spec)], env=env,
                          capture_output=True, text=True, check=False, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines or "error" in json.loads(lines[-1]):
        raise SystemExit(f"{net} {layout}: {done.stderr.strip()[-2000:] or lines}")
    return {"ms": statistics.median(json.loads(lines[-1])["times_ms"])}


def processes(net: str, layout: str, args: argparse.Namespace, folder: Path) -> dict:
    """`singart run` of the layout's plan; its worker ranks' step and push / pull figures."""
    base, clip = layout.removesuffix(CLIPPED), layout.endswith(CLIPPED)
    per_group, per_procs, separate = PROCESSES[base]
    name = f"{net}-{list(PROCESSES).index(base)}{'-clip' if clip else ''}"
    job = bench_job(net, folder, per_group, args.warmup + args.steps, folder / f"ws-{name}")
    job.updater.clip_norm = args.clip_norm if clip else 0
    job.cluster.nworkers_per_procs = per_procs
    job.cluster.server_worker_separate = separate
    job.checkpoint_freq, job.disp_freq = 0, job.train_steps
    plan = compile_plan(write_text_job(job, folder / f"{name}.pbtxt"), folder / f"{name}.plan")
    env = {**os.environ, "SINGART_REPORT_COMM": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*console("singart"), "run", str(plan), "--overwrite"], env=env,
                          capture_output=True, text=True, check=False, timeout=1800)
    reports = [json.loads(c) for _, c in COMM.findall(done.stderr)]
    if done.returncode or not reports:
        raise SystemExit(f"{plan}: singart run failed: {done.stderr.strip()[-2000:]}")
    return per_step(reports, args.warmup)


def per_step(reports: list[dict], warmup: int) -> dict:
    """Median over the worker ranks' steps after the warm-up of the step ms and of the ms waited for
    pushes and pulls at the step's end (one base for the share); per step (mean over ranks and all
    steps): ms in push and pull calls (they overlap backward and each other), MB moved; GB/s = bytes /
    seconds in the calls."""
    steps = [t for r in reports for t in r["step_ms"][warmup:]]
    waits = [t for r in reports for t in r["wait_ms"][warmup:]]
    return {"ms": statistics.median(steps), "wait_ms": statistics.median(waits),
            "comm_ms": statistics.mean(r["seconds"] / r["steps"] for r in reports) * 1e3,
            "mb_step": statistics.mean(r["bytes"] / r["steps"] for r in reports) / 1e6,
            "gbps": statistics.mean(r["bytes"] / r["seconds"] for r in reports if r["seconds"] > 0) / 1e9}


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """`median [min-max]`."""
    if not values:
        return "-"
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def table(net: str, results: dict[str, list[dict]]) -> str:
    """One net's markdown table; both shares are of the row's own ms / step."""
    lines = [f"### {net}", "", "| layout | ms / step | push+pull ms in calls / step | waited ms / step | "
             "waited share | MB / step / worker | GB/s (raw gRPC " + RAW_GRPC_GBPS + ") |",
             "|---|---|---|---|---|---|---|"]
    for layout, rows in results.items():
        col = {k: [r[k] for r in rows if k in r] for k in ("ms", "comm_ms", "wait_ms", "mb_step", "gbps")}
        share = [r["wait_ms"] / r["ms"] * 100 for r in rows if "wait_ms" in r and r["ms"] > 0]
        lines.append(f"| {layout} | {spread(col['ms'])} | {spread(col['comm_ms'])} | {spread(col['wait_ms'])} | "
                     f"{spread(share, '{:.0f}')} % | {spread(col['mb_step'], '{:.0f}')} | "
                     f"{spread(col['gbps'], '{:.2f}')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", nargs="+", default=list(NETS), choices=NETS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="timed steps after the warm-up")
    parser.add_argument("--warmup", type=int, default=3, help="steps left out of the medians")
    parser.add_argument("--clip-norm", type=float, default=0,
                        help="also run every layout with updater { clip_norm } set to this")
    args = parser.parse_args()
    layouts = [*IN_PROCESS, *PROCESSES]
    if args.clip_norm > 0:
        layouts = [lay + twin for lay in layouts for twin in ("", CLIPPED)]
    results = {net: {lay: [] for lay in layouts} for net in args.nets}
    with tempfile.TemporaryDirectory(prefix="processes-") as tmp:
        for r in range(args.rounds):
            for net in args.nets:
                for lay in layouts:  # alternating: every layout once per round
                    measure = in_process if lay.removesuffix(CLIPPED) in IN_PROCESS else processes
                    results[net][lay].append(measure(net, lay, args, Path(tmp)))
                    print(f"round {r + 1} {net} {lay}: {results[net][lay][-1]['ms']:.1f} ms/step",
                          file=sys.stderr, flush=True)
    for net in args.nets:
        print(table(net, results[net]) + "\n")


if __name__ == "__main__":
    main()
