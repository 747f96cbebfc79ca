"""Test accuracy of the MNIST MLP (examples/mnist/job.pbtxt, the shipped digits) trained for the example's
steps as Sandblaster, Downpour and distributed Hogwild, each as real processes through `singart run`.
The asynchronous frameworks should end within 1 point of the synchronous one. Asserts nothing; too long
for CI (minutes per framework on two cores).

    singart data mnist -o examples/mnist                # once: the shards the job names
    python benchmarks/frameworks_mnist.py               # all three, the example's 600 steps
    python benchmarks/frameworks_mnist.py --steps 100 --frameworks Hogwild
"""
from __future__ import annotations

import argparse
import re
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
TEST = re.compile(r"singart: done: .*test .*accuracy = ([0-9.]+)")


def job_for(framework: str, steps: int, workspace: Path) -> job_pb2.JobProto:
    """The example job with the framework's cluster, `steps` steps and its own workspace."""
    job = text_format.Parse((ROOT / "examples/mnist/job.pbtxt").read_text(), job_pb2.JobProto())
    job.train_steps = steps or job.train_steps
    job.cluster.Clear()
    text_format.Merge(FRAMEWORKS[framework], job.cluster)
    job.cluster.workspace = str(workspace)
    return job


def train(framework: str, steps: int, folder: Path) -> tuple[float, float]:
    """Test accuracy at the end of the run, and its wall seconds."""
    src, plan = folder / f"{framework}.pbtxt", folder / f"{framework}.plan"
    src.write_text(text_format.MessageToString(job_for(framework, steps, folder / f"ws-{framework}")))
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
    parser.add_argument("--steps", type=int, default=0, help="train_steps (default: the example's)")
    args = parser.parse_args()
    rows = ["| framework | test accuracy | wall time |", "|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="frameworks-") as tmp:
        for name in args.frameworks:
            accuracy, seconds = train(name, args.steps, Path(tmp))
            rows.append(f"| {name} | {accuracy * 100:.1f} % | {seconds:.0f} s |")
            print(rows[-1], file=sys.stderr, flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
