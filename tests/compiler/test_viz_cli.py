"""singac viz from the command line: formats, inputs, and one-line errors with exit code 2."""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from singac.cli import main
from singac.viz import png

from .test_viz import variant

ROOT = Path(__file__).resolve().parents[2]
MNIST = str(ROOT / "examples/mnist/job.pbtxt")


def singac(*args: str) -> subprocess.CompletedProcess:
    """Run the installed singac console script's entry point in a fresh interpreter."""
    code = "import sys; from singac.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("viz") / "plan.bin"
    assert main(["compile", MNIST, "-o", str(path)]) == 0
    return path


@pytest.mark.parametrize("suffix, head", [(".svg", b"<svg"), (".html", b"<!DOCTYPE html>"), (".dot", b"digraph")])
def test_formats_from_a_plan(plan_file, tmp_path, suffix, head):
    out = tmp_path / f"net{suffix}"
    assert main(["viz", str(plan_file), "-o", str(out)]) == 0
    assert out.read_bytes().startswith(head)


def test_job_file_is_compiled_in_memory(tmp_path):
    out = tmp_path / "net.svg"
    assert main(["viz", MNIST, "-o", str(out), "--phase", "test", "--collapse"]) == 0
    assert b"mlp - test phase (partitions collapsed)" in out.read_bytes()


def test_html_is_self_contained(plan_file, tmp_path):
    out = tmp_path / "net.html"
    assert main(["viz", str(plan_file), "-o", str(out)]) == 0
    page = out.read_text()
    assert "<svg" in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert " src=" not in page and " href=" not in page


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0]


def test_corrupt_plan(tmp_path):
    bad = tmp_path / "plan.bin"
    bad.write_bytes(b"\xff\x00 not a plan")
    one_line_error(singac("viz", str(bad), "-o", str(tmp_path / "x.svg")), "plan.bin")


def test_unknown_phase(plan_file, tmp_path):
    one_line_error(singac("viz", str(plan_file), "--phase", "validation", "-o", str(tmp_path / "x.svg")),
                   "validation", "train")


def test_unwritable_output(plan_file, tmp_path):
    out = tmp_path / "no-such-folder" / "x.svg"
    one_line_error(singac("viz", str(plan_file), "-o", str(out)), "x.svg", "cannot write")


def test_unknown_format(plan_file, tmp_path):
    one_line_error(singac("viz", str(plan_file), "-o", str(tmp_path / "x.jpg")), ".jpg", ".svg")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")


@needs_chromium
def test_png_is_the_svg_picture_with_its_legend(plan_file, tmp_path):
    image = pytest.importorskip("PIL.Image", reason="Pillow reads the PNG")
    svg, png = tmp_path / "net.svg", tmp_path / "net.png"
    for out in (svg, png):
        done = installed_singac("viz", str(plan_file), "-o", str(out))
        assert done.returncode == 0, done.stderr
    root = svg.read_text().split(">", 1)[0]
    size = [math.ceil(float(re.search(rf' {k}="([\d.]+)"', root).group(1))) for k in ("width", "height")]
    picture = image.open(png).convert("RGB")
    assert list(picture.size) == size
    assert (0xAA, 0xCB, 0xE2) in {rgb for _, rgb in picture.getcolors(maxcolors=1 << 20)}  # worker 0's nodes
    svg_text = svg.read_text()
    side = float(re.search(r'<g class="side" transform="translate\(([\d.]+),', svg_text).group(1))
    panel = picture.crop((int(side), 0, size[0], size[1])).convert("L")
    assert panel.getextrema()[0] < 80  # the legend's text is drawn beside the graph


@needs_chromium
def test_png_of_a_huge_picture_is_scaled_to_fit(tmp_path):
    image = pytest.importorskip("PIL.Image", reason="Pillow reads the PNG")
    from singac.viz.png import MAX_SIDE, svg_to_png

    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="40000" height="800" viewBox="0 0 40000 800">'
           '<rect x="0" y="0" width="40000" height="800" fill="#1f77b4"/></svg>')
    (tmp_path / "x.png").write_bytes(svg_to_png(svg))
    picture = image.open(tmp_path / "x.png").convert("RGB")
    assert picture.size == (MAX_SIDE, math.ceil(800 * MAX_SIDE / 40000))
    assert picture.getpixel((MAX_SIDE - 1, 100)) == (0x1F, 0x77, 0xB4)


@needs_chromium
def test_png_leaves_no_browser_profile_or_temp_files(plan_file, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    tmp = Path(tempfile.mkdtemp(prefix="t"))  # short: Chromium puts a socket in it, a path of at most 107 bytes
    try:
        exe = Path(sys.executable).parent / "singac"
        done = subprocess.run([str(exe), "viz", str(plan_file), "-o", str(tmp_path / "net.png")],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "HOME": str(home), "TMPDIR": str(tmp)})
        assert done.returncode == 0, done.stderr
        assert not [p for p in home.rglob("*") if "chromium-headless" in p.parts]  # no profile, no cache
        assert list(tmp.iterdir()) == []
    finally:
        shutil.rmtree(tmp)


@needs_chromium
def test_png_with_a_temp_folder_too_long_for_chromium_sockets(plan_file, tmp_path):
    tmp = tmp_path / ("t" * 80)  # too long a directory for the socket Chromium makes in it: /tmp instead
    tmp.mkdir()
    exe = Path(sys.executable).parent / "singac"
    result = subprocess.run([str(exe), "viz", str(plan_file), "-o", str(tmp_path / "net.png")], capture_output=True,
                            text=True, check=False, env={**os.environ, "TMPDIR": str(tmp)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "net.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp.iterdir()) == []


def test_a_chromium_failure_says_why():
    # the stderr of a Chromium that could not make its socket, as it logs it
    stderr = (b"[0101/000000.000:ERROR:x.cc(1)] something else\n"
              b"[1129/114255.613339:FATAL:process_singleton_posix.cc(361)] Socket path too long: /tmp/tttt\n")
    assert png._fatal(stderr) == ": Socket path too long: /tmp/tttt"
    assert png._fatal(b"no fatal line\n") == ""


def test_png_without_chromium_is_a_one_line_error(plan_file, tmp_path):
    exe = Path(sys.executable).parent / "singac"
    result = subprocess.run([str(exe), "viz", str(plan_file), "-o", str(tmp_path / "net.png")], capture_output=True,
                            text=True, check=False, env={**os.environ, "PATH": str(exe.parent)})
    one_line_error(result, "Chromium")
    assert not (tmp_path / "net.png").exists()


def cifar_job(tmp_path: Path, workers: int, feature_layer: str | None) -> Path:
    """The CIFAR-10 example over `workers`, optionally with one layer split on features (hybrid)."""
    return variant(tmp_path, "examples/cifar10/job.pbtxt", workers, feature_layer)


def installed_singac(*args: str) -> subprocess.CompletedProcess:
    """Run the installed `singac` console script."""
    exe = shutil.which("singac", path=str(Path(sys.executable).parent)) or "singac"
    return subprocess.run([exe, *args], capture_output=True, text=True, check=False)


def test_identical_workers_collapse_by_themselves(tmp_path):
    out = tmp_path / "net.svg"
    done = installed_singac("viz", str(cifar_job(tmp_path, 4, None)), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "collapsed: 4 identical workers; --no-collapse to expand" in done.stdout.splitlines()
    assert b"(partitions collapsed)" in out.read_bytes() and b'data-name="conv1@*"' in out.read_bytes()


def test_no_collapse_expands(tmp_path):
    out = tmp_path / "net.svg"
    done = installed_singac("viz", str(cifar_job(tmp_path, 4, None)), "-o", str(out), "--no-collapse")
    assert done.returncode == 0, done.stderr
    assert "collapsed" not in done.stdout
    assert all(f'data-name="conv1@0{w}"'.encode() in out.read_bytes() for w in range(4))


def test_hybrid_plan_of_four_workers_stays_expanded(tmp_path):
    out = tmp_path / "net.svg"
    done = installed_singac("viz", str(cifar_job(tmp_path, 4, "conv3")), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "collapsed" not in done.stdout and b'data-name="conv3@03"' in out.read_bytes()


def test_large_plan_collapses_and_says_why(tmp_path):
    out = tmp_path / "net.svg"
    done = installed_singac("viz", str(cifar_job(tmp_path, 8, "conv3")), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "collapsed: 448 nodes (over 400); --no-collapse to expand" in done.stdout.splitlines()
    assert b"(partitions collapsed)" in out.read_bytes()
