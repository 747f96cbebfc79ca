"""A tiny recurrent language model compiled by singac (unrolled) and trained by singart with kBPTT:
its per-step loss and params match PyTorch's nn.RNN / nn.GRU / nn.LSTM with the same weights (with
and without the recurrent side's bias), the
state carried across batches without its gradient (truncated BPTT); two workers train as one."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import singac
import torch
from singart.store import init_values
from singart.train import run_plan

from ..checkpoints import losses, step_params
from .rnn_jobs import BATCH, HIDDEN, TIME, lm_job, windows, write_windows

STEPS, LR = 3, 0.5
TORCH = {"kRNN": torch.nn.RNN, "kGRU": torch.nn.GRU, "kLSTM": torch.nn.LSTM}


def train(tmp_path: Path, kind: str, n: int = 1, alg: str = "kBPTT", job: str = "",
          label: str = "Train", recurrent_bias: bool = False) -> tuple[list[float], dict, dict]:
    """Compile and run the job (`job`: more fields of it); the losses of its `label` lines, initial and
    final params."""
    shard = write_windows(tmp_path / "shard") if not (tmp_path / "shard").exists() else str(tmp_path / "shard")
    ws = tmp_path / f"ws-{kind}-{n}-{alg}"
    src = tmp_path / f"job-{kind}-{n}-{alg}.pbtxt"
    src.write_text(lm_job(shard, ws, kind, n, STEPS, alg, LR, job=job, recurrent_bias=recurrent_bias))
    plan = singac.compile_file(str(src))
    first = {k: v.copy() for k, v in init_values(plan).items()}
    out = io.StringIO()
    run_plan(plan, out=out, err=io.StringIO())
    return losses(out.getvalue(), label), first, step_params(ws, STEPS)


def reference(kind: str, p: dict, carry: bool = True) -> tuple[list[float], dict]:
    """The same net in PyTorch (float64), trained by SGD over the same batches."""
    t = {k: torch.tensor(np.asarray(v, np.float64), requires_grad=True) for k, v in p.items()}
    cell = TORCH[kind](t["wx"].shape[1], HIDDEN, batch_first=True).double()
    ids = torch.from_numpy(windows().astype(np.int64))
    losses, state = [], None
    for step in range(STEPS):
        with torch.no_grad():  # PyTorch's gate orders are ours; without "bh" its b_hh is 0
            cell.weight_ih_l0.copy_(t["wx"])
            cell.weight_hh_l0.copy_(t["wh"])
            cell.bias_ih_l0.copy_(t["b"])
            cell.bias_hh_l0.copy_(t["bh"]) if "bh" in t else cell.bias_hh_l0.zero_()
        for w in cell.parameters():
            w.grad = None
        batch = ids[step * BATCH:(step + 1) * BATCH]
        y, last = cell(t["e"][batch[:, :TIME]], state)
        logits = y.reshape(-1, HIDDEN) @ t["w"].T + t["bo"]
        loss = torch.nn.functional.cross_entropy(logits, batch[:, 1:].reshape(-1))
        for v in t.values():
            v.grad = None
        loss.backward()
        grads = {"wx": cell.weight_ih_l0.grad, "wh": cell.weight_hh_l0.grad, "b": cell.bias_ih_l0.grad,
                 "bh": cell.bias_hh_l0.grad}
        with torch.no_grad():
            for k, v in t.items():
                v -= LR * grads.get(k, v.grad)
        losses.append(float(loss.detach()))
        if carry:  # truncated BPTT: the next batch starts from this one's last state, without its gradient
            state = tuple(s.detach() for s in last) if kind == "kLSTM" else last.detach()
    return losses, {k: v.detach().numpy() for k, v in t.items()}


@pytest.mark.parametrize("recurrent_bias", [False, True])
@pytest.mark.parametrize("kind", sorted(TORCH))
def test_unrolled_net_trains_as_pytorch(kind: str, recurrent_bias: bool, tmp_path: Path) -> None:
    losses, first, last = train(tmp_path, kind, recurrent_bias=recurrent_bias)
    want_losses, want = reference(kind, first)
    assert len(losses) == STEPS
    np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
    assert set(last) == set(want) == {"e", "wx", "wh", "b", "w", "bo"} | ({"bh"} if recurrent_bias else set())
    for name in want:
        np.testing.assert_allclose(last[name], want[name], rtol=1e-5, atol=1e-5, err_msg=name)


def test_bp_starts_every_batch_from_zeros(tmp_path: Path) -> None:
    losses, first, last = train(tmp_path, "kGRU", alg="kBP")
    want_losses, want = reference("kGRU", first, carry=False)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
    for name in want:
        np.testing.assert_allclose(last[name], want[name], rtol=1e-5, atol=1e-5, err_msg=name)
    carried = reference("kGRU", first, carry=True)[0]
    assert abs(carried[-1] - losses[-1]) > 1e-4  # the carried state does matter on this data


@pytest.mark.parametrize("kind", ["kGRU", "kLSTM"])
def test_two_workers_train_as_one(kind: str, tmp_path: Path) -> None:
    one, two = train(tmp_path, kind, 1), train(tmp_path, kind, 2)
    np.testing.assert_allclose(two[0], one[0], rtol=2e-5)
    assert one[2].keys() == two[2].keys()
    for name in one[2]:
        np.testing.assert_allclose(two[2][name], one[2][name], rtol=1e-4, atol=1e-6, err_msg=name)


def evaluation(p: dict, first: int, carry: bool) -> float:
    """The mean loss of PyTorch's GRU (float64) with params `p` over batches `first` and `first` + 1,
    from a zero state, the second batch starting from the first's last state when `carry`."""
    t = {k: torch.tensor(np.asarray(v, np.float64)) for k, v in p.items()}
    weights = {"weight_ih_l0": t["wx"], "weight_hh_l0": t["wh"], "bias_ih_l0": t["b"],
               "bias_hh_l0": torch.zeros_like(t["b"])}
    gru = torch.nn.GRU(t["wx"].shape[1], HIDDEN, batch_first=True).double()
    ids = torch.from_numpy(windows().astype(np.int64))
    losses, state = [], None
    for b in (first, first + 1):
        batch = ids[b * BATCH:(b + 1) * BATCH]
        y, last = torch.func.functional_call(gru, weights, (t["e"][batch[:, :TIME]], state))
        logits = y.reshape(-1, HIDDEN) @ t["w"].T + t["bo"]
        losses.append(float(torch.nn.functional.cross_entropy(logits, batch[:, 1:].reshape(-1))))
        state = last if carry else None
    return sum(losses) / 2


def test_evaluation_carries_the_state_across_its_batches(tmp_path: Path) -> None:
    """The test net runs at step 0 (first params, batches 0 and 1) and after the last step (last params;
    its reader reads on: batches 2 and 3), each run from a zero state, the state carried within it."""
    got, first, last = train(tmp_path, "kGRU", job=f"test_steps: 2 test_freq: {STEPS}", label="Test")
    want = [evaluation(first, 0, carry=True), evaluation(last, 2, carry=True)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert abs(evaluation(last, 2, carry=False) - want[1]) > 1e-4  # the carried state does matter here
