"""End to end, as a user runs it: convert the shipped MNIST digits, compile the MLP example, train it
with `singart run` for a few hundred steps, and reach a stated test accuracy."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mnist" / "job.pbtxt"
STEPS = 200
# measured: test accuracy 0.896 at step 100, 0.908 at step 200 (0.92 at 300) on the 1,000 test digits
MIN_ACCURACY = 0.85
BIN = Path(sys.executable).parent


def run(*cmd: str, cwd: Path) -> str:
    proc = subprocess.run([str(BIN / cmd[0]), *cmd[1:]], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.skipif(not EXAMPLE.exists(), reason="the MNIST example is not in this tree")
def test_mnist_mlp_example_learns_the_digits(tmp_path: Path) -> None:
    run("singart", "data", "mnist", "-o", "data", cwd=tmp_path)
    text = EXAMPLE.read_text()
    text = text.replace("examples/mnist/mnist_", "data/mnist_").replace("examples/mnist/workspace", "ws")
    text = re.sub(r"(?m)^train_steps: \d+", f"train_steps: {STEPS}", text)
    text = re.sub(r"(?m)^test_freq: \d+", "test_freq: 100", text)
    (tmp_path / "job.pbtxt").write_text(text)
    run("singac", "compile", "job.pbtxt", "-o", "mlp.plan", cwd=tmp_path)
    out = run("singart", "run", "mlp.plan", cwd=tmp_path)
    tests = re.findall(r"Test @ step (\d+): loss = ([^,]+), accuracy = (\S+)", out)
    assert [int(s) for s, _, _ in tests] == [0, 100, 200]
    first, last = tests[0], tests[-1]
    assert float(last[1]) < float(first[1])
    assert float(last[2]) >= MIN_ACCURACY, out
    assert sorted(p.name for p in (tmp_path / "ws" / "checkpoint").glob(f"step{STEPS}-worker*"))
    assert list((tmp_path / "ws" / "events").glob("events.out.tfevents.*"))
