"""The HTML picture in a real browser: headless Chromium loads it offline, runs its script, and draws it."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import singac
from singac.viz import render

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


def cifar_html(tmp_path: Path) -> Path:
    """CIFAR-10 over 4 workers with conv3 split on features, as an HTML page."""
    text = (ROOT / "examples/cifar10/job.pbtxt").read_text()
    text = text.replace("cluster {", "cluster {\n  nworkers_per_group: 4\n  nworkers_per_procs: 4", 1)
    text = text.replace('name: "conv3"\n', 'name: "conv3"\n    partition_dim: 1\n', 1)
    job = tmp_path / "cifar.pbtxt"
    job.write_text(text)
    page = tmp_path / "net.html"
    page.write_bytes(render(singac.compile_file(str(job)), ".html"))
    return page


def test_browser_renders_every_node(tmp_path):
    page = cifar_html(tmp_path)
    dom = subprocess.run([CHROMIUM, *FLAGS, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    plan_nodes = dom.count('class="node ')
    assert plan_nodes == 144  # 4 workers x 36 nodes, as the golden summary says
    assert "<svg" in dom and "zoom(" in dom


def test_browser_screenshot_shows_the_picture(tmp_path):
    image = pytest.importorskip("PIL.Image", reason="Pillow reads the screenshot")

    page = cifar_html(tmp_path)
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--screenshot={shot}", "--window-size=1400,1000", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = image.open(shot).convert("RGB")
    colours = {rgb for _, rgb in pixels.getcolors(maxcolors=1 << 20)}
    assert (0xAA, 0xCB, 0xE2) in colours  # worker 0's fill: its nodes were drawn, not a blank page
    assert len(colours) > 50
