"""The Python example's MNIST MLP, and the shipped digits as shards in a test's folder."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "python_api" / "mnist_mlp.py"
JOB_FILE = ROOT / "examples" / "mnist" / "job.pbtxt"
BIN = Path(sys.executable).parent


def example():
    """The example script as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("mnist_mlp", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def convert_digits(folder: Path) -> None:
    """`singart data mnist -o folder`: the shipped 4,000 + 1,000 digits as two shards."""
    subprocess.run([str(BIN / "singart"), "data", "mnist", "-o", str(folder)], check=True,
                   capture_output=True, timeout=300)
