"""Resume from the newest checkpoint, and warm-start params by name from another job's files."""
from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import singac
from singa_spec.plans import seal, write_plan
from singart import checkpoint
from singart.data.convert import write_image_shard
from singart.train import run_plan

from ..checkpoints import step_params as _params

# One shard of exactly one batch: every step sees the same records, so a resumed run must retrace
# an uninterrupted one exactly (params and momentum history come back from the checkpoint).
JOB = """name: "resume"
train_steps: {steps}
disp_freq: 1
checkpoint_freq: {freq}
seed: 5
{extra}
train_one_batch {{ alg: kBP }}
updater {{ type: kSGD momentum: 0.9 learning_rate {{ type: kFixed base_lr: 0.05 }} }}
cluster {{ nworkers_per_group: 2 workspace: "{ws}" }}
neuralnet {{
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "{shard}" batchsize: 8 shape: 5 shape: 5 }} }}
  layer {{ name: "mnist" type: kMnist srclayers: "data" mnist_conf {{ norm_a: 255 norm_b: 0.5 }} }}
  layer {{ name: "label" type: kLabel srclayers: "data" }}
  layer {{ name: "fc1" type: kInnerProduct srclayers: "mnist" innerproduct_conf {{ num_output: 6 }}
    param {{ name: "w1" init {{ type: kUniform low: -0.3 high: 0.3 }} }} param {{ name: "b1" }} }}
  layer {{ name: "act" type: kSTanh srclayers: "fc1" }}
  layer {{ name: "fc2" type: kInnerProduct srclayers: "act" innerproduct_conf {{ num_output: 4 }}
    param {{ name: "w2" init {{ type: kUniform low: -0.3 high: 0.3 }} }} param {{ name: "b2" }} }}
  layer {{ name: "loss" type: kSoftmaxLoss srclayers: "fc2" srclayers: "label" }}
}}
"""


def _shard(tmp_path: Path) -> str:
    rng = np.random.default_rng(1)
    folder = tmp_path / "shard"
    write_image_shard(str(folder), rng.integers(0, 256, (8, 5, 5), dtype=np.uint8), rng.integers(0, 4, 8),
                      interval=1e9)
    return str(folder)


def _run(tmp_path: Path, ws: str, steps: int, freq: int = 0, resume: bool = False, extra: str = "",
         err: io.StringIO | None = None, **options: Any) -> str:
    src = tmp_path / "job.pbtxt"
    src.write_text(JOB.format(steps=steps, freq=freq, ws=ws, shard=_shard(tmp_path), extra=extra))
    out = io.StringIO()
    run_plan(singac.compile_file(str(src)), resume=resume, out=out, err=err or io.StringIO(), **options)
    return out.getvalue()


def test_resume_continues_from_the_newest_step_exactly(tmp_path: Path) -> None:
    straight = _run(tmp_path, str(tmp_path / "a"), steps=6)
    _run(tmp_path, str(tmp_path / "b"), steps=3, freq=2)  # checkpoints at steps 0, 2 and the final 3
    err = io.StringIO()
    resumed = _run(tmp_path, str(tmp_path / "b"), steps=6, resume=True, err=err)
    # a longer train_steps is another plan with the same params: it resumes, and says so
    lines = err.getvalue().splitlines()
    assert lines[0].endswith(f"this is plan {_hash(tmp_path, tmp_path / 'b', 6)}; their params match by name")
    assert lines[1] == f"singart: resuming from step 3 ({tmp_path / 'b' / 'checkpoint'})"
    steps = [int(s) for s in re.findall(r"Train @ step (\d+)", resumed)]
    assert steps == [3, 4, 5]
    assert resumed == "".join(straight.splitlines(keepends=True)[3:])
    a, b = _params(str(tmp_path / "a"), 6), _params(str(tmp_path / "b"), 6)
    assert a.keys() == b.keys() == {"w1", "b1", "w2", "b2"}
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-6, atol=1e-7)


def _hash(tmp_path: Path, ws: Path, steps: int, freq: int = 0) -> str:
    src = tmp_path / "job.pbtxt"  # the plan names its source file: the same file, the same hash
    src.write_text(JOB.format(steps=steps, freq=freq, ws=ws, shard=_shard(tmp_path), extra=""))
    return seal(singac.compile_file(str(src))).content_hash[:12]


def test_resume_without_checkpoints_starts_at_zero(tmp_path: Path) -> None:
    out = _run(tmp_path, str(tmp_path / "c"), steps=2, resume=True)
    assert re.findall(r"Train @ step (\d+)", out) == ["0", "1"]


def test_checkpoint_path_warm_starts_params_by_name(tmp_path: Path) -> None:
    donor = {"w2": np.full((4, 6), 0.25, np.float32), "unrelated": np.ones(3, np.float32)}
    first = checkpoint.save(tmp_path / "donor1", 7, 0, donor, {})
    second = checkpoint.save(tmp_path / "donor2", 9, 0, {"b2": np.full(4, -1.0, np.float32)}, {})
    ws = str(tmp_path / "d")
    # the checkpoint at step 0 is written before any training: it holds exactly what was loaded
    _run(tmp_path, ws, steps=1, freq=1, extra=f'checkpoint_path: "{first}" checkpoint_path: "{second}"')
    got = _params(ws, 0)
    np.testing.assert_array_equal(got["w2"], 0.25)
    np.testing.assert_array_equal(got["b2"], -1.0)
    assert np.abs(got["w1"]).max() > 0  # the others keep their init


def test_a_run_killed_inside_a_checkpoint_resumes_from_the_previous_step(tmp_path: Path) -> None:
    straight = _run(tmp_path, str(tmp_path / "a"), steps=6)
    ws = tmp_path / "b"
    src = tmp_path / "job.pbtxt"
    src.write_text(JOB.format(steps=3, freq=2, ws=ws, shard=_shard(tmp_path), extra=""))
    plan = tmp_path / "job.plan"
    write_plan(seal(singac.compile_file(str(src))), plan)
    # A real process writes the final step-3 checkpoint and is killed (SIGKILL) after the workers'
    # files, before the updater's history: step 3 has param files but is incomplete.
    script = textwrap.dedent(f"""
        import io, os, signal
        from singart import SingaError, checkpoint, manifests
        from singa_spec.plans import read_plan
        from singart.train import run_plan
        write = checkpoint.write_atomic
        def dying(path, data):
            if path.name == "step3-updater":
                os.kill(os.getpid(), signal.SIGKILL)
            write(path, data)
        checkpoint.write_atomic = dying
        run_plan(read_plan({str(plan)!r}), out=io.StringIO(), err=io.StringIO())
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    assert (ws / "checkpoint" / "step3-worker0").exists() and not (ws / "checkpoint" / "step3-done").exists()
    src.write_text(JOB.format(steps=6, freq=2, ws=ws, shard=_shard(tmp_path), extra=""))
    out, err = io.StringIO(), io.StringIO()
    run_plan(singac.compile_file(str(src)), resume=True, out=out, err=err)
    assert re.findall(r"Train @ step (\d+)", out.getvalue()) == ["2", "3", "4", "5"]
    assert out.getvalue() == "".join(straight.splitlines(keepends=True)[2:])
    a, b = _params(str(tmp_path / "a"), 6), _params(str(ws), 6)
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-6, atol=1e-7)
    assert "checkpoint step 3 is incomplete" in err.getvalue() and "resuming from step 2" in err.getvalue()

