"""End to end, as a user runs it: the RBM chain script (rbm1 -> rbm4 by CD-1, then the auto-encoder by
BP) for a few steps a job, each job loading the previous ones' params; the RBMs' test reconstruction
error falls, and the layers below each RBM keep the values its predecessor saved. Then the example's
report over that chain: its curve table and its picture of reconstructed test digits."""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from singart import checkpoint
from singart.reference import inner_product, sigmoid

ROOT = Path(__file__).resolve().parents[2]
STEPS = 20
N = 7  # test digits in the report's picture


def params(work: Path, job: str) -> dict:
    (path,) = (work / job / "checkpoint").glob(f"step{STEPS}-worker*")
    return {name: value for name, (value, _) in checkpoint.read(path).items()}


def report_module():
    """examples/rbm/report.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("rbm_report", ROOT / "examples" / "rbm" / "report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the example run by its script for STEPS steps a job: (the copy's root, the log)."""
    root = tmp_path_factory.mktemp("rbm")
    shutil.copytree(ROOT / "examples" / "rbm", root / "examples" / "rbm")
    done = subprocess.run([sys.executable, "examples/rbm/run_chain.py", "--steps", str(STEPS), "--work", "w"],
                          cwd=root, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr
    return root, done.stdout


def test_rbm_chain_runs_and_hands_each_stage_its_predecessors_params(chain: tuple[Path, str]) -> None:
    root, log = chain
    errors = [float(e) for e in re.findall(r"Test @ step \d+: Squared Error = ([^;\s,]+)", log)]
    assert len(errors) == 8  # rbm1..rbm4, before and after training
    assert all(after < before for before, after in zip(errors[::2], errors[1::2]))
    assert re.search(rf"Test @ step {STEPS}: loss = ", log)  # the auto-encoder's
    work = root / "w"
    stages = [params(work, f"rbm{i}") for i in range(1, 5)]
    for i, later in enumerate(stages[1:], start=1):  # rbm(i+1) keeps rbm1..rbm(i)'s weights as loaded
        for j in range(1, i + 1):
            assert (later[f"w{j}"] == stages[j - 1][f"w{j}"]).all(), (i, j)


def run_report(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "examples/rbm/report.py", *args], cwd=root, capture_output=True,
                          text=True, timeout=300, check=False)


def test_report_tables_the_test_curves_the_chain_logged(chain: tuple[Path, str]) -> None:
    root, log = chain
    done = run_report(root, "--work", "w", "--table", "w/curves.md", "-n", str(N))
    assert done.returncode == 0, done.stderr
    rows = [line.split("|")[1:-1] for line in done.stdout.splitlines()]
    assert [c.strip() for c in rows[0]] == ["step", *(f"rbm{i} Squared Error" for i in range(1, 5)),
                                            "autoencoder loss"]
    assert [int(r[0]) for r in rows[2:]] == [0, STEPS]  # every job tests before and after training
    logged = [float(v) for v in re.findall(r"Test @ step \d+: (?:Squared Error|loss) = ([^;\s,]+)", log)]
    tabled = [float(cell) for i in range(5) for cell in (rows[2][i + 1], rows[3][i + 1])]
    assert tabled == pytest.approx(logged, rel=1e-3)  # 4 significant digits of the same values
    assert (root / "w" / "curves.md").read_text() == done.stdout


def test_report_pictures_digits_over_the_autoencoders_reconstructions(chain: tuple[Path, str]) -> None:
    root, _ = chain
    done = run_report(root, "--work", "w", "--png", "digits.png", "-n", str(N), "--zoom", "1")
    assert done.returncode == 0, done.stderr
    picture = np.asarray(Image.open(root / "digits.png"))
    cell, gap = 28 + 4, 2
    assert picture.shape == (2 * cell, N * cell)
    tiles = [[picture[r * cell + gap:r * cell + gap + 28, c * cell + gap:c * cell + gap + 28] for c in range(N)]
             for r in range(2)]
    digits = np.stack(tiles[0]).reshape(N, -1) / 255.0  # the inputs, exact: pixel bytes / 255
    p = params(root / "w", "autoencoder")
    h = digits
    for i in (1, 2, 3):  # the encoder, then the tied decoder: the job's layer order, by the reference
        h = sigmoid(inner_product(h, p[f"w{i}"], p[f"b{i}2"]))
    h = inner_product(h, p["w4"], p["b42"])
    for i in (4, 3, 2, 1):
        h = sigmoid(inner_product(h, p[f"w{i}"], p[f"b{i}1"], transpose=True))
    shown = np.stack(tiles[1]).reshape(N, -1).astype(int)
    assert np.abs(shown - np.rint(h * 255)).max() <= 1
    assert digits.max() == 1.0 and shown.std() > 0  # real digits, and not a blank row


def test_report_without_a_chain_is_one_line_naming_the_folder(tmp_path: Path) -> None:
    done = run_report(ROOT, "--work", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"report.py: {tmp_path}/rbm1/events: no event files (run the chain first)"]


def test_png_reads_back_as_the_pixels_written(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, size=(13, 37), dtype=np.uint8)
    (tmp_path / "p.png").write_bytes(report_module().png(pixels))
    with Image.open(tmp_path / "p.png") as image:
        assert image.mode == "L"
        assert (np.asarray(image) == pixels).all()
