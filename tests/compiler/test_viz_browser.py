"""The HTML picture in a real browser: headless Chromium loads it offline and a test drives it over the
DevTools protocol (on a pipe: no port, no network) with real wheel, mouse and keyboard input."""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import singac
from singac.viz import render

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
WIDTH, HEIGHT = 1200, 800


def cifar_job(tmp_path: Path) -> Path:
    """CIFAR-10 over 4 workers with conv3 split on features (hybrid partitioning)."""
    text = (ROOT / "examples/cifar10/job.pbtxt").read_text()
    text = text.replace("cluster {", "cluster {\n  nworkers_per_group: 4\n  nworkers_per_procs: 4", 1)
    text = text.replace('name: "conv3"\n', 'name: "conv3"\n    partition_dim: 1\n', 1)
    job = tmp_path / "cifar.pbtxt"
    job.write_text(text)
    return job


def cifar_html(tmp_path: Path) -> Path:
    page = tmp_path / "net.html"
    page.write_bytes(render(singac.compile_file(str(cifar_job(tmp_path))), ".html"))
    return page


class Browser:
    """Headless Chromium on --remote-debugging-pipe: commands go in on fd 3, answers come out on fd 4."""

    def __init__(self) -> None:
        cmd_r, self.cmd_w = os.pipe()
        self.out_r, out_w = os.pipe()

        # bash (not sh: fds above 9) moves the pipe ends to the fds Chromium expects, then becomes Chromium.
        wire = f'exec "$0" "$@" 3<&{cmd_r} 4>&{out_w}'
        self.proc = subprocess.Popen(["bash", "-c", wire, CHROMIUM, *FLAGS, "--remote-debugging-pipe",
                                      "about:blank"], pass_fds=(cmd_r, out_w), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(out_w)
        self.buffer, self.next_id, self.events = b"", 0, []
        self.session = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def call(self, method: str, **params: object) -> dict:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.read()
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply.get("result", {})
            self.events.append(reply)

    def read(self, timeout: float = 60) -> dict:
        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.out_r], [], [], timeout)
            assert ready, "Chromium did not answer"
            chunk = os.read(self.out_r, 1 << 16)
            assert chunk, "Chromium closed the pipe"
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def js(self, expression: str) -> object:
        """The value of a script expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1,
                  mobile=False)
        self.call("Network.enable")
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 60
        while not self.js("document.readyState === 'complete' && !!window.viz"):
            assert time.monotonic() < deadline, "the page did not load"
            time.sleep(0.05)

    def mouse(self, kind: str, x: float, y: float, **more: object) -> None:
        self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, **more)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self.cmd_w)
        os.close(self.out_r)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):
    """The hybrid CIFAR-10 page, open in a headless Chromium window of WIDTH x HEIGHT."""
    browser = Browser()
    browser.open(cifar_html(tmp_path_factory.mktemp("html")).as_uri())
    yield browser
    browser.close()


def rect(browser: Browser, selector: str) -> dict:
    return browser.js(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                      ".getBoundingClientRect(); return {left: r.left, top: r.top, right: r.right, "
                      "bottom: r.bottom, width: r.width, height: r.height}; })()")


def inside_window(r: dict) -> bool:
    return r["left"] >= 0 and r["top"] >= 0 and r["right"] <= WIDTH and r["bottom"] <= HEIGHT


def classed(browser: Browser, selector: str, attr: str) -> list[str]:
    return sorted(browser.js(f"[...document.querySelectorAll({json.dumps(selector)})]"
                             f".map(e => e.getAttribute({json.dumps(attr)}))"))


def test_opens_fitted_to_the_window(page):
    assert page.js("document.querySelectorAll('.node').length") == 144  # 4 workers x 36 nodes
    world, view = rect(page, "#world"), rect(page, "#view")
    assert world["left"] >= view["left"] - 1 and world["right"] <= view["right"] + 1
    assert world["top"] >= view["top"] - 1 and world["bottom"] <= view["bottom"] + 1
    assert max(world["width"] / view["width"], world["height"] / view["height"]) > 0.98  # fills one way
    assert inside_window(rect(page, "#legend"))


def test_wheel_zooms_about_the_pointer_and_drag_pans(page):
    page.js("viz.fit()")
    before = page.js("viz.state()")
    page.mouse("mouseWheel", 600, 400, deltaX=0, deltaY=-400)
    after = page.js("viz.state()")
    assert after["scale"] > before["scale"] * 1.5
    # The picture's point under the pointer stays under it (the view starts 36 px down).
    for axis, pointer in (("x", 600), ("y", 400 - 36)):
        assert (pointer - after[axis]) / after["scale"] == pytest.approx((pointer - before[axis]) / before["scale"])
    page.mouse("mousePressed", 500, 500, button="left", clickCount=1)
    page.mouse("mouseMoved", 560, 530, button="left")
    page.mouse("mouseMoved", 620, 540, button="left")
    page.mouse("mouseReleased", 620, 540, button="left", clickCount=1)
    moved = page.js("viz.state()")
    assert (moved["x"] - after["x"], moved["y"] - after["y"]) == pytest.approx((120, 40))
    assert moved["scale"] == after["scale"]
    assert inside_window(rect(page, "#legend"))  # the legend stays in view after zoom and pan


def test_hover_lights_exactly_a_nodes_edges_and_its_partitions_on_other_workers(page, tmp_path):
    plan = singac.compile_file(str(cifar_job(tmp_path)))
    nodes = next(g for g in plan.graphs if g.phase == 1).nodes
    name = "conv3@01"
    edges = sorted(f"{s}>{n.name}" for n in nodes for s in n.srcs if name in (s, n.name))
    page.js(f"viz.find({json.dumps(name)})")  # bring it into view, so the pointer can reach it
    box = rect(page, f'.node[data-name="{name}"]')
    page.mouse("mouseMoved", box["left"] + box["width"] / 2, box["top"] + box["height"] / 2)
    assert classed(page, ".node.hl", "data-name") == [name]
    assert classed(page, ".node.peer", "data-name") == ["conv3@00", "conv3@02", "conv3@03"]
    lit = page.js("[...document.querySelectorAll('path.edge.hl')].map(e => e.dataset.src + '>' + e.dataset.dst)")
    assert sorted(lit) == edges and len(edges) >= 2
    page.mouse("mouseMoved", 5, 60)  # off every node: nothing stays lit
    assert page.js("document.querySelectorAll('.hl, .peer').length") == 0
    page.mouse("mouseMoved", box["left"] + box["width"] / 2, box["top"] + box["height"] / 2)
    assert classed(page, ".node.hl", "data-name") == [name]
    page.mouse("mouseMoved", 5, 10)  # straight off the picture onto the tool bar: nothing stays lit either
    assert page.js("document.querySelectorAll('.hl, .peer').length") == 0


def test_search_box_finds_a_layer_and_centres_it(page):
    page.js("viz.fit(); document.getElementById('search').focus()")
    page.call("Input.insertText", text="conv1")
    found = classed(page, ".node.found", "data-name")
    assert found == ["conv1@00", "conv1@01", "conv1@02", "conv1@03"]
    assert page.js("document.getElementById('count').textContent") == "4 found"
    box, view = rect(page, '.node[data-name="conv1@00"]'), rect(page, "#view")
    assert box["left"] + box["width"] / 2 == pytest.approx(view["left"] + view["width"] / 2, abs=1)
    assert box["top"] + box["height"] / 2 == pytest.approx(view["top"] + view["height"] / 2, abs=1)
    assert page.js("viz.state().scale") >= 1
    assert inside_window(rect(page, "#legend"))


def test_keyboard_zooms_and_refits(page):
    page.js("viz.fit(); document.activeElement.blur()")
    fitted = page.js("viz.state().scale")
    page.call("Input.dispatchKeyEvent", type="keyDown", key="+", text="+")
    assert page.js("viz.state().scale") == pytest.approx(fitted * 1.25)
    page.call("Input.dispatchKeyEvent", type="keyDown", key="0", text="0")
    assert page.js("viz.state().scale") == pytest.approx(fitted)


def test_nothing_is_fetched_from_the_network(page):
    urls = [e["params"]["request"]["url"] for e in page.events if e.get("method") == "Network.requestWillBeSent"]
    assert urls and all(u.startswith(("file:", "data:", "about:")) for u in urls), urls


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
