"""Plugins through the real `singac` and `singart` console scripts: a user layer with a learned scale in
the middle of an MLP trains (one process and two), the plan records the plugins it was compiled with and
`singart run` loads them (or names the missing one), entry points load by themselves, and each mistake
is one line with exit code 2."""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from singart import checkpoint

from ..api.mlp import convert_digits
from ..checkpoints import step_params as params
from ..runtime.run_jobs import BIN, run
from .jobs import HERE, SCALE_PLUGIN, write_job

LOSS = re.compile(r"Train @ step \d+: loss = ([^,\s]+)")


def singac(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`singac ARGS` in an environment of its own (default: this one)."""
    return subprocess.run([str(BIN / "singac"), *args], capture_output=True, text=True, timeout=300,
                          check=False, env=env)


def compile_job(job: Path, *plugins: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`singac compile JOB -o JOB.plan --plugin P ...`."""
    flags = [f"--plugin={p}" for p in plugins]
    return singac("compile", str(job), "-o", str(job.with_suffix(".plan")), *flags, env=env)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command wrote (exit 2, no traceback)."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    return line


def test_a_user_layer_trains_and_its_plan_loads_the_plugin(tmp_path: Path) -> None:
    job = write_job(tmp_path, steps=60)
    done = compile_job(job, str(SCALE_PLUGIN))
    assert done.returncode == 0, done.stderr
    shown = run("singac", "show", str(job.with_suffix(".plan")))
    assert f'name: "{SCALE_PLUGIN}"' in shown.stdout and 'how: "file"' in shown.stdout
    assert "[scale.scale_conf] {" in shown.stdout  # the extension survived into the plan
    ran = run("singart", "run", str(job.with_suffix(".plan")))
    assert ran.returncode == 0, ran.stderr
    losses = [float(x) for x in LOSS.findall(ran.stdout)]
    assert len(losses) == 60
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])
    s = params(tmp_path / "ws", 60)["s"]
    assert s.shape == (16,) and np.all(np.isfinite(s))
    assert np.abs(s - 0.5).max() > 1e-3  # the learned scale moved from its init


def test_the_extension_reaches_the_layer_through_the_plan(tmp_path: Path) -> None:
    firsts = []
    for factor, init in ((2, 0.5), (1, 1.0)):  # the same products: the same first loss, if factor arrives
        folder = tmp_path / f"f{factor}"
        folder.mkdir()
        job = write_job(folder, steps=1, conf=f"factor: {factor}", init=init)
        assert compile_job(job, str(SCALE_PLUGIN)).returncode == 0
        ran = run("singart", "run", str(job.with_suffix(".plan")))
        assert ran.returncode == 0, ran.stderr
        firsts.append(LOSS.findall(ran.stdout))
    assert len(firsts[0]) == 1 and firsts[0] == firsts[1]


def test_two_processes_with_a_user_layer_match_one(tmp_path: Path) -> None:
    results = []
    for name, workers in (("one", "2 nworkers_per_procs: 2"), ("two", "2 nworkers_per_procs: 1")):
        (tmp_path / name).mkdir()
        job = write_job(tmp_path / name, steps=6, workers=workers)
        assert compile_job(job, str(SCALE_PLUGIN)).returncode == 0
        ran = run("singart", "run", str(job.with_suffix(".plan")))
        assert ran.returncode == 0, ran.stderr
        lines = [re.sub(r"^\[rank 0\] ", "", x) for x in ran.stdout.splitlines() if "Train @" in x]
        results.append((lines, params(tmp_path / name / "ws", 6)))
    (one, p1), (two, p2) = results
    assert len(one) == 6 and two == one
    assert p1.keys() == p2.keys() and "s" in p1
    for name in p1:
        np.testing.assert_allclose(p2[name], p1[name], rtol=0, atol=1e-6, err_msg=name)


def test_a_plan_whose_plugin_file_is_gone_is_refused_naming_it(tmp_path: Path) -> None:
    moved = tmp_path / "plugin"
    shutil.copytree(SCALE_PLUGIN.parent, moved, ignore=shutil.ignore_patterns("workspace*", "__pycache__"))
    job = write_job(tmp_path)
    assert compile_job(job, str(moved / "scale_layer.py")).returncode == 0
    (moved / "scale_layer.py").unlink()
    line = one_error_line(run("singart", "run", str(job.with_suffix(".plan"))))
    assert f"compiled with the plugin file {moved / 'scale_layer.py'}, which does not exist" in line


def test_an_entry_point_plugin_loads_by_itself_and_is_recorded(tmp_path: Path) -> None:
    site = tmp_path / "site"
    info = site / "scale_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: scale-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[singa.plugins]\nscale = scale_layer\n")
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{SCALE_PLUGIN.parent}"}
    job = write_job(tmp_path, kind='user_type: "Scale"')  # `type` defaults to kUserLayer
    done = compile_job(job, env=env)
    assert done.returncode == 0, done.stderr
    shown = singac("show", str(job.with_suffix(".plan")), env=env).stdout
    assert 'name: "scale"\n  how: "entry-point"' in shown
    assert "[scale.scale_conf] {\n        factor: 2.0" in shown
    line = one_error_line(run("singart", "run", str(job.with_suffix(".plan"))))  # not installed here
    assert "compiled with the plugin scale (entry point of group singa.plugins), which no installed" in line
    ran = subprocess.run([str(BIN / "singart"), "run", str(job.with_suffix(".plan"))], capture_output=True,
                         text=True, timeout=300, check=False, env=env)  # installed: it loads by itself
    assert ran.returncode == 0, ran.stderr
    assert len(LOSS.findall(ran.stdout)) == 30 and "s" in params(tmp_path / "ws", 30)
    script = f"import singa; singa.run(singa.Job.from_file({str(job)!r}), overwrite=True)"  # the Python API too
    api = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False,
                         env=env)
    assert api.returncode == 0 and len(LOSS.findall(api.stdout)) == 30, api.stderr


def test_an_unknown_user_type_lists_the_registered_kinds(tmp_path: Path) -> None:
    job = write_job(tmp_path, kind='type: kUserLayer user_type: "Scael"')
    line = one_error_line(compile_job(job, str(SCALE_PLUGIN)))
    assert "layer 'scale': user layer type 'Scael' is not a registered layer kind; known:" in line
    assert re.search(r"job\.pbtxt:\d+: ", line) and "Scale" in line.split("known:")[1]


def test_a_shape_rule_returning_no_shape_names_the_layer(tmp_path: Path) -> None:
    job = write_job(tmp_path, kind='user_type: "BadShape"')
    line = one_error_line(compile_job(job, str(SCALE_PLUGIN), str(HERE / "bad_shape.py")))
    assert "layer 'scale': the shape rule of BadShape returned None, not a tuple of whole numbers" in line


def test_a_missing_or_failing_plugin_is_one_line(tmp_path: Path) -> None:
    job = write_job(tmp_path)
    line = one_error_line(compile_job(job, str(tmp_path / "nowhere.py")))
    assert line == f"singac: error: plugin {tmp_path / 'nowhere.py'}: no such file"
    line = one_error_line(compile_job(job, str(HERE / "broken.py")))
    assert line.endswith("cannot load it: RuntimeError: boom: this plugin cannot start")
    line = one_error_line(compile_job(job, "no_such_plugin_module"))
    assert "plugin no_such_plugin_module: cannot load it: ModuleNotFoundError" in line
    plan = tmp_path / "job.plan"
    assert not plan.exists()
    line = one_error_line(run("singart", "run", str(plan), "--plugin", str(HERE / "broken.py")))
    assert line.startswith("singart: error: plugin ") and "RuntimeError: boom" in line


def test_an_extension_without_its_plugin_says_to_load_it(tmp_path: Path) -> None:
    job = write_job(tmp_path)
    line = one_error_line(compile_job(job))
    assert re.search(r'job\.pbtxt:\d+:\d+: Extension "scale\.scale_conf" not registered; the plugin that '
                     r"defines it is not loaded: give it with --plugin", line), line


def test_a_brace_missing_after_an_extension_names_its_block(tmp_path: Path) -> None:
    job = write_job(tmp_path, conf="factor: 2  #")  # the comment swallows the extension's `}`
    line = one_error_line(compile_job(job, str(SCALE_PLUGIN)))
    assert re.search(r"a `}` is probably missing: the `\[scale\.scale_conf\]` block opened at line \d+ is "
                     r"still open, and `param` belongs to `layer`", line), line


EXAMPLES = SCALE_PLUGIN.parent
EXAMPLE_JOBS = {"job.pbtxt": ("scale_layer.py",),
                "job_kinds.pbtxt": ("scale_layer.py", "truncated_init.py", "signum_updater.py")}


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mnist")
    convert_digits(folder)
    return folder


@pytest.mark.parametrize("name", sorted(EXAMPLE_JOBS))
def test_the_example_jobs_compile_and_train_with_their_plugins(name: str, digits: Path, tmp_path: Path) -> None:
    text = (EXAMPLES / name).read_text()  # its data and workspace in this test's folders, 20 steps
    text = text.replace("examples/mnist/", f"{digits}/").replace("train_steps: 300", "train_steps: 20")
    text = re.sub(r'workspace: "[^"]*"', f'workspace: "{tmp_path / "ws"}"', text)
    job = tmp_path / name
    job.write_text(text)
    done = compile_job(job, *(str(EXAMPLES / p) for p in EXAMPLE_JOBS[name]))
    assert done.returncode == 0, done.stderr
    assert "2 phase(s)" in done.stdout and "5 params" in done.stdout
    ran = run("singart", "run", str(job.with_suffix(".plan")))
    assert ran.returncode == 0, ran.stderr
    losses = [float(x) for x in LOSS.findall(ran.stdout)]
    assert len(losses) == 1 and math.isfinite(losses[0])  # disp_freq 50: step 0 only
    params = {n: v for n, (v, _) in checkpoint.read(next((tmp_path / "ws" / "checkpoint").glob("step20-worker*"))).items()}
    assert params["s"].shape == (128,) and np.abs(params["s"] - 0.5).max() > 0  # the Scale layer learned
    if "truncated_init.py" in EXAMPLE_JOBS[name]:
        assert 0 < np.abs(params["w2"]).max() <= 2 * 0.05 + 20 * 0.002  # drawn within 2 std, then Signum steps
