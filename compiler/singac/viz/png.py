"""PNG output: the SVG picture itself, rasterised by headless Chromium, so the PNG shows exactly what the
SVG shows (columns in order, legend and panels included) in about the time a browser takes to open it."""
from __future__ import annotations

import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ..errors import SingaError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
MAX_SIDE = 16_384  # longest side of a PNG Chromium draws reliably; larger pictures are scaled down to it
TIMEOUT_S = 300
SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"')


def find_browser() -> str:
    """The headless Chromium to draw with; a SingaError when there is none."""
    exe = next((path for path in map(shutil.which, BROWSERS) if path), None)
    if exe is None:
        raise SingaError("PNG output needs headless Chromium ('chromium' on PATH); write .svg or .html instead")
    return exe


def fitted(svg: str) -> tuple[str, int, int]:
    """The SVG resized (its viewBox keeps the drawing) so no side exceeds MAX_SIDE, and its pixel size."""
    found = SIZE.search(svg)
    if found is None:
        raise SingaError("cannot draw a PNG: the SVG has no width and height")
    width, height = float(found.group(2)), float(found.group(3))
    scale = min(1.0, MAX_SIDE / max(width, height))
    w, h = max(math.ceil(width * scale), 1), max(math.ceil(height * scale), 1)
    return SIZE.sub(rf'<svg\1 width="{w}" height="{h}"', svg, count=1), w, h


def svg_to_png(svg: str) -> bytes:
    """A screenshot of the SVG, at its own size (or scaled down to MAX_SIDE), by headless Chromium."""
    exe = find_browser()
    svg, w, h = fitted(svg)
    with tempfile.TemporaryDirectory(prefix="singac-png-", dir=short_temp()) as tmp:
        page, shot = Path(tmp) / "picture.svg", Path(tmp) / "picture.png"
        page.write_text(svg)
        # A profile of its own, removed with the directory: else each run leaves a profile and a cache
        # directory in the user's home (~/.config and ~/.cache/chromium-headless).
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
                f"--user-data-dir={Path(tmp) / 'profile'}", f"--window-size={w},{h}", f"--screenshot={shot}",
                page.as_uri()]
        # its sockets go in TMPDIR, whose path must be short (a UNIX socket's path has ~100 bytes)
        code, stderr = run_browser(args, {**os.environ, "TMPDIR": tmp})
        if code != 0 or not shot.exists():
            raise SingaError(f"Chromium could not draw the PNG (exit code {code}){_fatal(stderr)}")
        return shot.read_bytes()


SHORT_TEMP = 60  # longest temp folder path Chromium's socket paths (at most 107 bytes) are sure to fit


def short_temp() -> str | None:
    """The temp folder, unless its path is too long for Chromium's sockets: then /tmp (None: default)."""
    if len(tempfile.gettempdir()) <= SHORT_TEMP or not os.access("/tmp", os.W_OK):
        return None
    return "/tmp"


def run_browser(args: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """Run Chromium in a session of its own, so that on timeout all its processes are killed, not only
    the first; returns its exit code and stderr."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise SingaError(f"Chromium took over {TIMEOUT_S} s to draw the PNG; write .svg or .html instead") from None
    except BaseException:  # Ctrl-C: take the browser down with us
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, stderr


def _fatal(stderr: bytes) -> str:
    """': why', from the last FATAL line Chromium logged (a TMPDIR too long for its socket, say), or ''."""
    lines = [line for line in stderr.decode(errors="replace").splitlines() if ":FATAL:" in line]
    return ": " + lines[-1].split("] ", 1)[-1].strip() if lines else ""
