"""Gradient clipping by global norm (`updater { clip_norm }`) on the tiny GRU language model trained by
BPTT: clipped SGD with weight decay matches PyTorch's clip_grad_norm_ + torch.optim.SGD step by step; a
clip that never bites changes nothing; two workers, a worker and a server in two processes, and a group
split over two worker processes (with one server process, or a server in each worker process) train as
one worker in one process (with servers, the servers clip)."""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import singac
import torch
from singa_proto import plan_pb2
from singa_spec.plans import seal, write_plan
from singart.store import init_values
from singart.train import run_plan

from ..checkpoints import losses, step_params
from .rnn_jobs import BATCH, HIDDEN, TIME, lm_job, windows, write_windows
from .run_jobs import run

STEPS, LR, WD, CLIP = 3, 0.5, 0.01, 0.1
CLIPPED = f"weight_decay: {WD} clip_norm: {CLIP}"
SERVER = "nworkers_per_procs: 1 server_worker_separate: true"
START = re.compile(r"rank (\d) role (.+?) listening", re.MULTILINE)

Run = tuple[list[float], dict[str, np.ndarray], dict[str, np.ndarray]]  # losses, first and last params


def compile_job(folder: Path, updater: str, n: int = 1, cluster: str = "") -> plan_pb2.PlanProto:
    """The language model's plan in `folder` (made), its workspace and shard there too."""
    folder.mkdir()
    src = folder / "job.pbtxt"
    src.write_text(lm_job(write_windows(folder / "shard"), folder / "ws", "kGRU", n, STEPS, "kBPTT", LR,
                          updater, cluster))
    return singac.compile_file(str(src))


def results(folder: Path, stdout: str, plan: plan_pb2.PlanProto) -> Run:
    return losses(stdout), init_values(plan), step_params(folder / "ws", STEPS)


def train(folder: Path, updater: str, n: int = 1) -> Run:
    """Train in this process (every worker a thread)."""
    plan = compile_job(folder, updater, n, f"nworkers_per_procs: {n}")
    out = io.StringIO()
    run_plan(plan, out=out, err=io.StringIO())
    return results(folder, out.getvalue(), plan)


def reference(p: dict[str, np.ndarray], clip: float) -> tuple[list[float], list[float], dict[str, np.ndarray]]:
    """The same net in PyTorch (float64): per step the loss and the gradients' norm before clipping, and
    the final params, trained by clip_grad_norm_ then SGD with weight decay (truncated BPTT)."""
    t = {k: torch.tensor(np.asarray(v, np.float64), requires_grad=True) for k, v in p.items()}
    gru = torch.nn.GRU(t["wx"].shape[1], HIDDEN, batch_first=True).double()
    sgd = torch.optim.SGD(list(t.values()), lr=LR, weight_decay=WD)
    ids = torch.from_numpy(windows().astype(np.int64))
    losses, norms, state = [], [], None
    for step in range(STEPS):
        # PyTorch's gate order is ours; our one bias is its b_ih, its b_hh is 0
        weights = {"weight_ih_l0": t["wx"], "weight_hh_l0": t["wh"], "bias_ih_l0": t["b"],
                   "bias_hh_l0": torch.zeros(3 * HIDDEN, dtype=torch.float64)}
        batch = ids[step * BATCH:(step + 1) * BATCH]
        y, last = torch.func.functional_call(gru, weights, (t["e"][batch[:, :TIME]], state))
        logits = y.reshape(-1, HIDDEN) @ t["w"].T + t["bo"]
        loss = torch.nn.functional.cross_entropy(logits, batch[:, 1:].reshape(-1))
        sgd.zero_grad()
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(list(t.values()), clip)))
        sgd.step()
        losses.append(float(loss.detach()))
        state = last.detach()
    return losses, norms, {k: v.detach().numpy() for k, v in t.items()}


def same_params(got: dict[str, np.ndarray], want: dict[str, np.ndarray], rtol: float = 1e-5) -> None:
    assert got.keys() == want.keys() == {"e", "wx", "wh", "b", "w", "bo"}
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, rtol=rtol, atol=1e-6, err_msg=name)


@pytest.fixture(scope="module")
def clipped(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return train(tmp_path_factory.mktemp("clip") / "one", CLIPPED)


def test_clipped_sgd_trains_as_pytorch(clipped: Run) -> None:
    losses, first, last = clipped
    want_losses, norms, want = reference(first, CLIP)
    assert min(norms) > 2 * CLIP  # the clip bites at every step
    np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
    same_params(last, want)
    unclipped = reference(first, 1e9)[2]
    assert np.abs(unclipped["w"] - want["w"]).max() > 1e-3  # the clipping does change the params


def test_a_clip_that_never_bites_changes_nothing(tmp_path: Path) -> None:
    updater = "momentum: 0.9 weight_decay: 0.01"  # not foldable: both runs take the same update kernels
    plain = train(tmp_path / "plain", updater)
    high = train(tmp_path / "high", f"{updater} clip_norm: 1e6")
    assert high[0] == plain[0]
    for name, value in plain[2].items():
        assert np.array_equal(high[2][name], value), name


def test_two_workers_clip_as_one(tmp_path: Path, clipped: Run) -> None:
    losses, _, last = train(tmp_path / "two", CLIPPED, n=2)
    np.testing.assert_allclose(losses, clipped[0], rtol=2e-5)
    same_params(last, clipped[2], rtol=1e-4)


def run_procs(folder: Path, n: int, cluster: str, updater: str = CLIPPED) -> tuple[list[tuple[str, ...]], Run]:
    """Compile and `singart run` the job; the ranks' roles, and its losses and params."""
    plan = compile_job(folder, updater, n, cluster)
    write_plan(seal(plan), folder / "job.plan")
    done = run("singart", "run", str(folder / "job.plan"))
    assert done.returncode == 0, done.stderr
    return sorted(START.findall(done.stderr)), results(folder, done.stdout, plan)


def test_a_worker_and_a_server_process_clip_as_one_process(tmp_path: Path, clipped: Run) -> None:
    roles, (losses, _, last) = run_procs(tmp_path / "procs", 1, SERVER)
    assert roles == [("0", "workers g0:0"), ("1", "servers g0:0")]
    np.testing.assert_allclose(losses, clipped[0], rtol=1e-5)
    same_params(last, clipped[2])


def test_a_group_in_two_processes_clips_on_its_server(tmp_path: Path, clipped: Run) -> None:
    roles, (losses, _, last) = run_procs(tmp_path / "two", 2, SERVER)
    assert roles == [("0", "workers g0:0"), ("1", "workers g0:1"), ("2", "servers g0:0")]
    np.testing.assert_allclose(losses, clipped[0], rtol=2e-5)
    same_params(last, clipped[2], rtol=1e-4)


def test_momentum_history_under_server_clipping_is_one_process_s(tmp_path: Path) -> None:
    momentum = f"{CLIPPED} momentum: 0.9"
    want = train(tmp_path / "one", momentum)
    _, (losses, _, last) = run_procs(tmp_path / "two", 2, SERVER, momentum)
    np.testing.assert_allclose(losses, want[0], rtol=2e-5)
    same_params(last, want[2], rtol=1e-4)
    assert np.abs(last["w"] - run_procs(tmp_path / "plain", 2, SERVER)[1][2]["w"]).max() > 1e-4  # it counts


def test_a_group_in_two_processes_clips_on_a_server_in_each(tmp_path: Path, clipped: Run) -> None:
    roles, (losses, _, last) = run_procs(tmp_path / "each", 2,
                                         "nworkers_per_procs: 1 nservers_per_group: 2 nservers_per_procs: 1")
    assert roles == [("0", "workers g0:0 servers g0:0"), ("1", "workers g0:1 servers g0:1")]
    np.testing.assert_allclose(losses, clipped[0], rtol=2e-5)
    same_params(last, clipped[2], rtol=1e-4)
