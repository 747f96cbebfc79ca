"""Test accuracy of the MNIST MLP (examples/mnist/job.pbtxt, the shipped digits) trained for the example's
as Sandblaster, Downpour and distributed Hogwild, each as real processes through `singart run`, over
several seeds. The asynchronous frameworks should end within 1 point of the synchronous one. Asserts
nothing; too long for CI (minutes per run on two cores).

Fair by default: every framework sees the same number of training samples. Sandblaster's one group of two
workers splits each batch of 100, so its 600 steps read 60,000 samples; Downpour and Hogwild run two groups
of one worker, each reading whole batches, so each group trains for half the steps (`--equal steps` gives
every group the example's 600 steps instead: twice the samples for the asynchronous ones).

    python benchmarks/frameworks_mnist.py                       # all three, seeds 1 2 3 (about 20 min)
    python benchmarks/frameworks_mnist.py --steps 100 --seeds 1 --frameworks Hogwild
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from google.protobuf import text_format
from singa_proto import job_pb2

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# framework -> its cluster (only cluster {} changes); every worker and server group a process of its own
FRAMEWORKS = {
    "Sandblaster": "nworkers_per_group: 2 nworkers_per_procs: 1 server_worker_separate: true",
    "Downpour": "nworker_groups: 2 nworkers_per_procs: 1 server_worker_separate: true",
    "Hogwild": "nworker_groups: 2 nserver_groups: 2 sync_freq: 5 nworkers_per_procs: 1 "
               "server_worker_separate: true",
}
GROUPS = {"Sandblaster": 1, "Downpour": 2, "Hogwild": 2}  # worker groups, each reading whole batches
TEST = re.compile(r"singart: done: .*test .*accuracy = ([0-9.]+)")


def job_for(framework: str, steps: int, seed: int, equal: str, workspace: Path) -> job_pb2.JobProto:
    """The example job with the framework's cluster, its seed, its steps and its own workspace."""
    job = text_format.Parse((ROOT / "examples/mnist/job.pbtxt").read_text(), job_pb2.JobProto())
    job.train_steps = steps or job.train_steps
    if equal == "samples":
        job.train_steps //= GROUPS[framework]
    job.seed = seed
    job.cluster.Clear()
    text_format.Merge(FRAMEWORKS[framework], job.cluster)
    job.cluster.workspace = str(workspace)
    return job


def train(framework: str, job: job_pb2.JobProto, folder: Path) -> tuple[float, float]:
    """Test accuracy at the end of the run, and its wall seconds."""
    src, plan = folder / f"{framework}.pbtxt", folder / f"{framework}.plan"
    src.write_text(text_format.MessageToString(job))
    subprocess.run([str(BIN / "singac"), "compile", str(src), "-o", str(plan)], check=True, cwd=ROOT,
                   capture_output=True)
    began = time.perf_counter()
    done = subprocess.run([str(BIN / "singart"), "run", str(plan), "--overwrite"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    found = TEST.search(done.stderr)
    if done.returncode or not found:
        raise SystemExit(f"{framework}: singart run failed: {done.stderr.strip()[-2000:]}")
    return float(found.group(1)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frameworks", nargs="+", default=list(FRAMEWORKS), choices=FRAMEWORKS)
    parser.add_argument("--steps", type=int, default=0, help="Sandblaster's train_steps (default: the example's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--equal", choices=["samples", "steps"], default="samples")
    args = parser.parse_args()
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in args.frameworks}
    with tempfile.TemporaryDirectory(prefix="frameworks-") as tmp:
        for seed in args.seeds:  # frameworks alternate within each seed
            for name in args.frameworks:
                job = job_for(name, args.steps, seed, args.equal, Path(tmp) / f"ws-{name}")
                found[name].append(train(name, job, Path(tmp)))
                accuracy, seconds = found[name][-1]
                print(f"{name} seed {seed} steps {job.train_steps}: {accuracy * 100:.2f} % in {seconds:.0f} s",
                      file=sys.stderr, flush=True)
    print(table(found, args.seeds))


def table(found: dict[str, list[tuple[float, float]]], seeds: list[int]) -> str:
    """Markdown: per framework the mean test accuracy over the seeds, its range, and the median wall time."""
    rows = [f"| framework | mean test accuracy ({len(seeds)} seeds) | range | each seed | median wall time |",
            "|---|---|---|---|---|"]
    for name, runs in found.items():
        accs = [a * 100 for a, _ in runs]
        rows.append(f"| {name} | {statistics.mean(accs):.2f} % | {min(accs):.2f}-{max(accs):.2f} | "
                    f"{' / '.join(f'{a:.2f}' for a in accs)} | {statistics.median(s for _, s in runs):.0f} s |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
