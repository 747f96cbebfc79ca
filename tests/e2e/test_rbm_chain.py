"""End to end, as a user runs it: the RBM chain script (rbm1 -> rbm4 by CD-1, then the auto-encoder by
BP) for a few steps a job, each job loading the previous ones' params; the RBMs' test reconstruction
error falls, and the layers below each RBM keep the values its predecessor saved."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from singart import checkpoint

ROOT = Path(__file__).resolve().parents[2]
STEPS = 20


def params(work: Path, job: str) -> dict:
    (path,) = (work / job / "checkpoint").glob(f"step{STEPS}-worker*")
    return {name: value for name, (value, _) in checkpoint.read(path).items()}


def test_rbm_chain_runs_and_hands_each_stage_its_predecessors_params(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "rbm", tmp_path / "examples" / "rbm")
    done = subprocess.run([sys.executable, "examples/rbm/run_chain.py", "--steps", str(STEPS), "--work", "w"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr
    errors = [float(e) for e in re.findall(r"Test @ step \d+: Squared Error = ([^;\s,]+)", done.stdout)]
    assert len(errors) == 8  # rbm1..rbm4, before and after training
    assert all(after < before for before, after in zip(errors[::2], errors[1::2]))
    assert re.search(rf"Test @ step {STEPS}: loss = ", done.stdout)  # the auto-encoder's
    work = tmp_path / "w"
    stages = [params(work, f"rbm{i}") for i in range(1, 5)]
    for i, later in enumerate(stages[1:], start=1):  # rbm(i+1) keeps rbm1..rbm(i)'s weights as loaded
        for j in range(1, i + 1):
            assert (later[f"w{j}"] == stages[j - 1][f"w{j}"]).all(), (i, j)
