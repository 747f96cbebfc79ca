"""Run SINGA's RBM chain: rbm1 -> rbm2 -> rbm3 -> rbm4 (CD-1), then the auto-encoder (BP), each job
warm-starting from the previous ones' checkpoints (`checkpoint_path`).

    python examples/rbm/run_chain.py              # the jobs as they are: 4 x 6,000 + 12,200 steps
    python examples/rbm/run_chain.py --steps 50   # a quick try: every job 50 steps (copies in --work)

Run it from the repository root (the job files name shards and workspaces relative to it); the MNIST
shards are made first when absent (`singart data mnist -o examples/mnist`).
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent  # the console scripts installed beside this interpreter
HERE = Path("examples/rbm")
JOBS = ("rbm1", "rbm2", "rbm3", "rbm4", "autoencoder")


def shortened(text: str, steps: int, work: Path) -> str:
    """A job with `steps` train steps whose workspace and checkpoint paths lie in `work`."""
    text = re.sub(r"train_steps: \d+", f"train_steps: {steps}", text)
    text = re.sub(r"test_freq: \d+", f"test_freq: {steps}", text)
    text = re.sub(r"examples/rbm/(rbm\d)/checkpoint/step\d+", rf"{work}/\1/checkpoint/step{steps}", text)
    return re.sub(r'workspace: "examples/rbm/', f'workspace: "{work}/', text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, help="train every job this many steps instead")
    p.add_argument("--work", type=Path, default=Path("examples/rbm/quick"), help="where --steps puts its copies")
    args = p.parse_args()
    if not Path("examples/mnist/mnist_train_shard").exists():
        subprocess.run([BIN / "singart", "data", "mnist", "-o", "examples/mnist"], check=True)
    for name in JOBS:
        job = HERE / f"{name}.pbtxt"
        if args.steps:
            args.work.mkdir(exist_ok=True)
            job = args.work / f"{name}.pbtxt"
            job.write_text(shortened((HERE / f"{name}.pbtxt").read_text(), args.steps, args.work.resolve()))
        plan = job.with_suffix(".plan")
        subprocess.run([BIN / "singac", "compile", job, "-o", plan], check=True)
        subprocess.run([BIN / "singart", "run", plan], check=True)


if __name__ == "__main__":
    main()
