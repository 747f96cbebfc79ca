"""CD-k on a small RBM against a NumPy reference written here, with the same random draws: a step's
update under plain SGD (lr 1) is minus its gradient, and the log's `Squared Error` is the reconstruction's."""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import singac
from singart import store
from singart.params.seeds import make_rng
from singart.train import run_plan

from ..checkpoints import step_params
from .rbm_jobs import HDIM, SEED, rbm_job, write_shard


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def cd_reference(v0: np.ndarray, w: np.ndarray, b: np.ndarray, c: np.ndarray, k: int, gaussian: bool,
                 step: int, layer: str = "hid") -> tuple[dict[str, np.ndarray], float]:
    """CD-k in float64: the gradients of w, bv, bh and the first reconstruction's squared error per row.
    Hidden samples: Bernoulli(h) by u < h, or h + N(0, 1), with u / N drawn for (seed, "hid", step, i)."""
    def up(v: np.ndarray) -> np.ndarray:
        a = v @ w.T + c
        return a if gaussian else sigmoid(a)
    h0 = h = up(v0)
    err = 0.0
    for i in range(k):
        rng = make_rng(SEED, layer, step, i)
        draw = rng.standard_normal(h.shape, dtype=np.float32) if gaussian else rng.random(h.shape, dtype=np.float32)
        s = h + draw if gaussian else (draw < h).astype(np.float64)
        v = sigmoid(s @ w + b)
        h = up(v)
        if i == 0:
            err = float(((v0 - v) ** 2).sum(axis=1).mean())
    n = len(v0)
    grads = {"w": (h.T @ v - h0.T @ v0) / n, "bv": (v - v0).sum(0) / n, "bh": (h - h0).sum(0) / n}
    return grads, err


def run(folder: Path, job: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], str]:
    """Compile and run a job; the initial params, those of its last checkpoint, and the log."""
    src = folder / "job.pbtxt"
    src.write_text(job)
    plan = singac.compile_file(str(src))
    out = io.StringIO()
    run_plan(plan, out=out, err=io.StringIO())
    steps = plan.job.train_steps
    return store.init_values(plan), step_params(folder / "ws", steps), out.getvalue()


@pytest.mark.parametrize("gaussian", [False, True])
@pytest.mark.parametrize("k", [1, 3])
def test_cd_step_matches_numpy(tmp_path: Path, k: int, gaussian: bool) -> None:
    data = write_shard(tmp_path / "shard")
    first, after, log = run(tmp_path, rbm_job(tmp_path / "shard", tmp_path / "ws", k=k, gaussian=gaussian))
    v0 = data[:8].astype(np.float64)
    grads, err = cd_reference(v0, first["w"].astype(np.float64), first["bv"].astype(np.float64),
                              first["bh"].astype(np.float64), k, gaussian, step=0)
    assert first["w"].shape == (HDIM, 36)
    for name, g in grads.items():
        np.testing.assert_allclose(first[name] - after[name], g, rtol=1e-4, atol=1e-5, err_msg=name)
    logged = re.findall(r"Train @ step \d+: Squared Error = ([^,\s]+)", log)
    assert len(logged) == 1
    assert float(logged[0]) == pytest.approx(err, rel=1e-3)


# the second stage of a stack: the first RBM's weight and hidden bias, loaded from its checkpoint, make
# an inner product and a sigmoid that feed the second RBM, and stay as they were
STACKED = """  layer { name: "inner1" type: kInnerProduct srclayers: "mnist" innerproduct_conf { num_output: 5 }
          param { name: "w" } param { name: "bh" } }
  layer { name: "sigmoid1" type: kSigmoid srclayers: "inner1" }
"""


def stacked(tmp_path: Path, workers: int) -> tuple[dict, dict, dict, np.ndarray]:
    """Train stage 1 (param names w, bv, bh) for 2 steps, then stage 2 (3 hidden units; its own
    params renamed w2, bv2, bh2) for 1 step from stage 1's checkpoint; stage 1's final params,
    stage 2's first and last params, and the data."""
    data = write_shard(tmp_path / "shard")
    first = tmp_path / "first"
    first.mkdir()
    _, stage1, _ = run(first, rbm_job(tmp_path / "shard", first / "ws", steps=2))
    second = tmp_path / "second"
    second.mkdir()
    job = rbm_job(tmp_path / "shard", second / "ws", workers=workers, below=STACKED, top="sigmoid1", hdim=3,
                  head=f'checkpoint_path: "{first}/ws/checkpoint/step2-worker0"')
    job = job.replace('"w"', '"w2"').replace('"bv"', '"bv2"').replace('"bh"', '"bh2"')
    job = job.replace('"w2" } param { name: "bh2" }', '"w" } param { name: "bh" }')  # inner1's
    init, after, _ = run(second, job)
    return stage1, init, after, data


@pytest.mark.parametrize("workers", [1, 2])
def test_layers_below_the_rbm_are_frozen_and_loaded_from_a_checkpoint(tmp_path: Path, workers: int) -> None:
    stage1, init, after, data = stacked(tmp_path, workers)
    for name in ("w", "bh"):
        np.testing.assert_array_equal(after[name], stage1[name], err_msg=name)
    v0 = sigmoid(data[:8].astype(np.float64) @ stage1["w"].T + stage1["bh"])
    grads, _ = cd_reference(v0, init["w2"].astype(np.float64), init["bv2"].astype(np.float64),
                            init["bh2"].astype(np.float64), 1, False, step=0, layer="hid")
    for name, g in grads.items():
        np.testing.assert_allclose(init[name + "2"] - after[name + "2"], g, rtol=1e-4, atol=1e-5, err_msg=name)
