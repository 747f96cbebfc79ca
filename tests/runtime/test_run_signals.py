"""How `singart run` ends when asked to: SIGTERM and SIGHUP as Ctrl-C does (one line, exit 128 + signum,
no temp file, the newest complete checkpoint loads), and quietly when its output's reader goes away."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from .run_jobs import command, make_plan, newest_complete, partial_files, run

ENDINGS = {  # signal -> what singart says
    signal.SIGTERM: "singart: terminated (SIGTERM)",
    signal.SIGHUP: "singart: terminated (SIGHUP)",
    signal.SIGINT: "singart: interrupted",
}


@pytest.mark.parametrize("sig, groups", [(signal.SIGTERM, 1), (signal.SIGHUP, 1), (signal.SIGINT, 1),
                                         (signal.SIGTERM, 2)])
def test_signal_ends_a_run_cleanly(tmp_path: Path, sig: signal.Signals, groups: int) -> None:
    # a checkpoint every step: the signal most likely lands in one being written
    plan = make_plan(tmp_path, steps=1_000_000, checkpoint_freq=1, groups=groups)
    proc = subprocess.Popen(command("singart", "run", str(plan)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert first.startswith("Train @ step 0:"), first + err
    assert proc.returncode == 128 + sig, err
    assert err.splitlines() == [ENDINGS[sig]]
    folder = tmp_path / "ws" / "checkpoint"
    assert partial_files(folder) == []
    assert newest_complete(folder) is not None


def _reader_gone() -> tuple[int, subprocess.Popen[bytes]]:
    """The write end of a pipe whose reader, `head -1`, has read its line and exited."""
    r, w = os.pipe()
    head = subprocess.Popen(["head", "-1"], stdin=r, stdout=subprocess.DEVNULL)
    os.close(r)
    os.write(w, b"a line\n")
    head.wait(timeout=60)
    return w, head


def test_run_into_head_ends_quietly(tmp_path: Path) -> None:
    # `singart run plan | head -1`: head exits after the first line, the run at its next one
    plan = make_plan(tmp_path, steps=1_000_000)
    r, w = os.pipe()
    singart = subprocess.Popen(command("singart", "run", str(plan)), stdout=w, stderr=subprocess.PIPE)
    head = subprocess.Popen(["head", "-1"], stdin=r, stdout=subprocess.PIPE)
    os.close(r)
    os.close(w)
    first, _ = head.communicate(timeout=120)
    _, err = singart.communicate(timeout=120)
    assert first.decode().startswith("Train @ step 0:")
    assert singart.returncode == 128 + signal.SIGPIPE and err == b""


@pytest.mark.parametrize("tool", ["singart", "singac"])
def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path, tool: str) -> None:
    plan = make_plan(tmp_path)
    w, _ = _reader_gone()
    args = ("run", str(plan)) if tool == "singart" else ("show", str(plan))
    proc = subprocess.run(command(tool, *args), stdout=w, stderr=subprocess.PIPE, timeout=120, check=False)
    os.close(w)
    assert proc.returncode == 128 + signal.SIGPIPE and proc.stderr == b""


def test_versions_and_run_help() -> None:
    for tool in ("singart", "singac"):
        proc = run(tool, "--version")
        assert proc.returncode == 0 and proc.stdout.split()[-1] == "0.1.0" and tool in proc.stdout, proc
    help_text = " ".join(run("singart", "run", "--help").stdout.split())
    assert "Train a plan compiled by `singac compile`" in help_text
    assert "--hosts FILE where the plan's processes run: one host per line" in help_text
    assert "--ray-address HOST:PORT" in help_text
    assert "143 SIGTERM" in help_text
