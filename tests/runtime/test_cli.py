"""The `singart` command line as a real process: a good run, and one-line errors (exit 2) on bad input."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import singac
from singa_spec.plans import FORMAT_VERSION, read_plan, seal, write_plan
from singart import manifests
from singart.data.convert import write_image_shard

JOB = """name: "cli-mlp"
train_steps: 4
test_steps: 1
test_freq: 2
disp_freq: 1
checkpoint_freq: 2
seed: 3
train_one_batch {{ alg: kBP }}
updater {{ type: kSGD learning_rate {{ type: kFixed base_lr: 0.1 }} }}
cluster {{ nworkers_per_group: 2 nworkers_per_procs: 2 workspace: "{ws}" }}
neuralnet {{
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "{train}" batchsize: 8 shape: 6 shape: 6 }} exclude: kTest }}
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "{test}" batchsize: 8 shape: 6 shape: 6 }} exclude: kTrain }}
  layer {{ name: "mnist" type: kMnist srclayers: "data" mnist_conf {{ norm_a: 255 norm_b: 0.5 }} }}
  layer {{ name: "label" type: kLabel srclayers: "data" }}
  layer {{ name: "fc1" type: kInnerProduct srclayers: "mnist" innerproduct_conf {{ num_output: 4 }}
    param {{ name: "w1" init {{ type: kUniform low: -0.3 high: 0.3 }} }} param {{ name: "b1" }} }}
  layer {{ name: "loss" type: kSoftmaxLoss srclayers: "fc1" srclayers: "label" }}
}}
"""


def _shard(folder: Path, n: int, side: int) -> str:
    rng = np.random.default_rng(n)
    write_image_shard(str(folder), rng.integers(0, 256, (n, side, side), dtype=np.uint8),
                      rng.integers(0, 4, n), interval=1e9)
    return str(folder)


@pytest.fixture
def job(tmp_path: Path) -> dict[str, str]:
    return {"ws": str(tmp_path / "ws"), "train": _shard(tmp_path / "train", 16, 6),
            "test": _shard(tmp_path / "test", 8, 6)}


def _plan(tmp_path: Path, fields: dict[str, str], name: str = "job") -> Path:
    src = tmp_path / f"{name}.pbtxt"
    src.write_text(JOB.format(**fields))
    path = tmp_path / f"{name}.plan"
    write_plan(seal(singac.compile_file(str(src))), path)
    return path


def singart(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # the console script installed beside this interpreter, as users run it
    exe = Path(sys.executable).parent / "singart"
    return subprocess.run([str(exe), *args], check=False, capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def _one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_help_lists_run_and_data() -> None:
    proc = singart("--help")
    assert proc.returncode == 0 and "run" in proc.stdout and "data" in proc.stdout
    run_help = singart("run", "--help")
    assert "--resume" in run_help.stdout and "--hosts" in run_help.stdout


def test_run_trains_logs_and_checkpoints(tmp_path: Path, job: dict[str, str]) -> None:
    proc = singart("run", str(_plan(tmp_path, job)))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [ln.split(":")[0] for ln in lines] == [
        "Test @ step 0", "Train @ step 0", "Train @ step 1", "Test @ step 2", "Train @ step 2",
        "Train @ step 3", "Test @ step 4"]
    assert all("loss = " in ln and "accuracy = " in ln for ln in lines)
    # no progress bar when stderr is not a terminal; one summary line, off stdout so that its lines parse
    ws = Path(job["ws"])
    assert re.fullmatch(r"singart: done: 4 steps in \d+\.\d s; test loss = \S+, accuracy = \S+; "
                        rf"last checkpoint {re.escape(str(ws / 'checkpoint' / 'step4-done'))}\n", proc.stderr)
    names = sorted(p.name for p in (Path(job["ws"]) / "checkpoint").iterdir())
    assert {"step0-worker0", "step2-worker0", "step4-worker0"} <= set(names)


def test_modified_plan_is_refused(tmp_path: Path, job: dict[str, str]) -> None:
    path = _plan(tmp_path, job)
    data = bytearray(path.read_bytes())
    i = data.index(b"cli-mlp")
    data[i:i + 7] = b"cli-MLP"
    path.write_bytes(bytes(data))
    _one_line_error(singart("run", str(path)), str(path), "content hash mismatch")
    assert not Path(job["ws"]).exists()


def test_truncated_and_foreign_files_are_refused(tmp_path: Path, job: dict[str, str]) -> None:
    path = _plan(tmp_path, job)
    path.write_bytes(path.read_bytes()[:-20])
    _one_line_error(singart("run", str(path)), str(path))
    other = tmp_path / "notes.txt"
    other.write_text("hello, this is not a plan\n")
    _one_line_error(singart("run", str(other)), str(other), "not a plan file")
    _one_line_error(singart("run", str(tmp_path / "absent.plan")), "absent.plan")


def test_missing_shard(tmp_path: Path, job: dict[str, str]) -> None:
    job["test"] = str(tmp_path / "no_such_shard")
    _one_line_error(singart("run", str(_plan(tmp_path, job))), "no_such_shard")
    assert not list((Path(job["ws"]) / "checkpoint").glob("step*"))


def test_shard_of_the_wrong_record_shape(tmp_path: Path, job: dict[str, str]) -> None:
    plan = _plan(tmp_path, job)
    shutil.rmtree(job["train"])
    _shard(Path(job["train"]), 16, 7)  # rewritten after compiling, with 7x7 records
    _one_line_error(singart("run", str(plan)), job["train"], "[7, 7]")
    assert not list((Path(job["ws"]) / "checkpoint").glob("step*"))


def test_unwritable_workspace(tmp_path: Path, job: dict[str, str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the workspace folder should go")
    job["ws"] = str(blocker / "ws")
    _one_line_error(singart("run", str(_plan(tmp_path, job))), "workspace", str(blocker))


def test_hosts_of_other_machines_need_a_plan_of_several_processes(tmp_path: Path, job: dict[str, str]) -> None:
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("localhost\n10.254.0.9 slots=2\n")
    _one_line_error(singart("run", str(_plan(tmp_path, job)), "--hosts", str(hosts)),
                    "--hosts", "runs as one process", "nworkers_per_procs")


def test_hosts_of_other_machines_need_a_ray_cluster(tmp_path: Path, job: dict[str, str]) -> None:
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("10.254.0.8\n10.254.0.9\n")
    src = tmp_path / "two.pbtxt"
    src.write_text(JOB.format(**job).replace("nworkers_per_procs: 2", "nworkers_per_procs: 1"))  # 2 processes
    plan = tmp_path / "two.plan"
    write_plan(seal(singac.compile_file(str(src))), plan)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.run([str(Path(sys.executable).parent / "singart"), "run", str(plan), "--hosts", str(hosts)],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    _one_line_error(proc, "RAY_ADDRESS", "--ray-address")


def test_missing_hosts_file_is_named(tmp_path: Path, job: dict[str, str]) -> None:
    _one_line_error(singart("run", str(_plan(tmp_path, job)), "--hosts", "hosts.txt"), "hosts.txt")


@pytest.mark.parametrize("version", ["0", "2", None])
def test_plan_of_another_format_version_is_refused(tmp_path: Path, job: dict[str, str],
                                                   version: str | None) -> None:
    path = _plan(tmp_path, job)
    plan = read_plan(path)
    if version is None:
        plan.ClearField("format_version")
    else:
        plan.format_version = version
    write_plan(seal(plan), path)  # sealed again: only the version is wrong
    _one_line_error(singart("run", str(path)), str(path), f"'{FORMAT_VERSION}'",
                    "unset" if version is None else f"'{version}'")
    assert not Path(job["ws"]).exists()


def test_labels_out_of_range_are_a_one_line_error(tmp_path: Path, job: dict[str, str]) -> None:
    rng = np.random.default_rng(5)
    shutil.rmtree(job["train"])
    write_image_shard(job["train"], rng.integers(0, 256, (16, 6, 6), dtype=np.uint8), np.full(16, 9),
                      interval=1e9)  # a 4-class net on labels 9
    proc = singart("run", str(_plan(tmp_path, job)))
    _one_line_error(proc, "loss", "label 9 is not one of the 4 classes")
    assert proc.stderr.startswith("singart: error: ")


UNEXPECTED = """
import sys
from singart import cli, train
def broken(plan, **options):
    raise RuntimeError("a bug\\nover two lines")
train.run_plan = broken
sys.exit(cli.main(["run", sys.argv[1]]))
"""


@pytest.mark.parametrize("debug", ["", "1"])
def test_unexpected_errors_exit_70_with_a_hint(tmp_path: Path, job: dict[str, str], debug: str) -> None:
    env = {**os.environ, "SINGART_DEBUG": debug}
    proc = subprocess.run([sys.executable, "-c", UNEXPECTED, str(_plan(tmp_path, job))], check=False,
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 70, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last == "singart: internal error: RuntimeError: a bug over two lines (set SINGART_DEBUG=1 for the traceback)"
    assert ("Traceback" in proc.stderr) == bool(debug)
    assert len(proc.stderr.strip().splitlines()) == 1 or debug


def test_a_second_run_on_a_workspace_in_use_is_refused(tmp_path: Path, job: dict[str, str]) -> None:
    long = _plan(tmp_path, job, "long")
    long_job = read_plan(long)
    long_job.job.train_steps, long_job.job.checkpoint_freq = 10**7, 0  # runs until killed, saves nothing
    write_plan(seal(long_job), long)
    exe = Path(sys.executable).parent / "singart"
    first = subprocess.Popen([str(exe), "run", str(long)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert first.stdout is not None and first.stdout.readline().startswith("Test @ step 0")  # training
        second = singart("run", str(_plan(tmp_path, job)))
        _one_line_error(second, f"workspace {job['ws']} is in use by singart run (pid {first.pid}) since ")
    finally:
        first.kill()  # SIGKILL: the lock goes with the process
        first.communicate()
    assert first.returncode == -9
    third = singart("run", str(_plan(tmp_path, job)))
    assert third.returncode == 0, third.stderr
    assert (Path(job["ws"]) / ".lock").read_text() == ""  # a finished run names no holder


def test_relative_shard_path_names_the_directory_and_leaves_no_workspace(tmp_path: Path,
                                                                         job: dict[str, str]) -> None:
    job["train"] = "data/no_such_shard"
    proc = singart("run", str(_plan(tmp_path, job)), cwd=tmp_path)
    _one_line_error(proc, "data/no_such_shard", f"relative to the current directory {tmp_path}")
    assert not Path(job["ws"]).exists()


def test_resume_and_overwrite_together_are_refused(tmp_path: Path, job: dict[str, str]) -> None:
    proc = singart("run", str(_plan(tmp_path, job)), "--resume", "--overwrite")
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr
    assert not Path(job["ws"]).exists()


def test_keep_checkpoints_flag_overrides_the_job(tmp_path: Path, job: dict[str, str]) -> None:
    proc = singart("run", str(_plan(tmp_path, job)), "--keep-checkpoints", "1")
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (Path(job["ws"]) / "checkpoint").iterdir())
    assert names == ["step4-done", "step4-updater", "step4-worker0"]
    bad = singart("run", str(_plan(tmp_path, job)), "--keep-checkpoints", "-1")  # argparse: usage, then why
    assert bad.returncode == 2 and bad.stderr.splitlines()[-1].endswith("'-1' is not a whole number >= 0")


def test_a_fresh_run_over_checkpoints_needs_resume_or_overwrite(tmp_path: Path, job: dict[str, str]) -> None:
    plan = _plan(tmp_path, job)
    assert singart("run", str(plan)).returncode == 0
    again = singart("run", str(plan))  # a finished run of the same plan: running it again remakes its steps
    assert again.returncode == 0, again.stderr
    assert "starting over: the finished run's checkpoints of this plan (up to step 4) stay" in again.stderr
    manifests.remove_steps(Path(job["ws"]) / "checkpoint", [4])  # as if it had stopped after step 2
    _one_line_error(singart("run", str(plan)), "an unfinished run of this plan up to step 2", "--resume",
                    "--overwrite")
    other = read_plan(plan)
    other.job.train_steps = 6
    write_plan(seal(other), tmp_path / "other.plan")
    _one_line_error(singart("run", str(tmp_path / "other.plan")), f"plan {read_plan(plan).content_hash[:12]}",
                    f"this is plan {other.content_hash[:12]}", "--overwrite")
    folder = Path(job["ws"]) / "checkpoint"
    (folder / "notes.txt").write_text("the user's own file")
    proc = singart("run", str(tmp_path / "other.plan"), "--overwrite", "--keep-checkpoints", "0")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in folder.glob("step*-done")) == ["step0-done", "step2-done", "step4-done",
                                                                  "step6-done"]
    assert json.loads((folder / "step4-done").read_text())["plan"] == other.content_hash
    assert (folder / "notes.txt").exists()


def test_a_loss_that_asks_for_perplexity_logs_ppl(tmp_path: Path, job: dict[str, str]) -> None:
    src = tmp_path / "ppl.pbtxt"
    src.write_text(JOB.format(**job).replace('srclayers: "label" }',
                                             'srclayers: "label" softmaxloss_conf { perplexity: true } }'))
    path = tmp_path / "ppl.plan"
    write_plan(seal(singac.compile_file(str(src))), path)
    proc = singart("run", str(path))
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if " @ step " in ln]
    assert len(lines) == 7
    for ln in lines:
        values = dict(re.findall(r"(\w+) = (\S+?)(?:,|$)", ln))
        assert float(values["ppl"]) == pytest.approx(np.exp(float(values["loss"])), rel=1e-5)
