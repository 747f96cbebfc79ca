"""The recurrent cells' NumPy math: backward against central differences, forward against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from singart.layers import cells

B, D, H = 3, 4, 5
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def _inputs(kind: str, bias: bool = True) -> dict[str, np.ndarray | None]:
    rng = np.random.default_rng(7)
    g = GATES[kind]
    out: dict[str, np.ndarray | None] = {
        "x": rng.normal(size=(B, D)), "h": rng.normal(size=(B, H)) * 0.5,
        "W": rng.normal(size=(g * H, D)) * 0.4, "U": rng.normal(size=(g * H, H)) * 0.4,
        "b": rng.normal(size=(g * H,)) * 0.3 if bias else None}
    if kind == "lstm":
        out["c"] = rng.normal(size=(B, H)) * 0.5
    return out


def _run(kind: str, v: dict) -> tuple[np.ndarray, ...]:
    """The cell's outputs (h, and c for the LSTM)."""
    if kind == "lstm":
        h, c, _ = cells.lstm_forward(v["x"], v["h"], v["c"], v["W"], v["U"], v["b"])
        return h, c
    fwd = cells.rnn_forward if kind == "rnn" else cells.gru_forward
    return (fwd(v["x"], v["h"], v["W"], v["U"], v["b"])[0],)


def _grads(kind: str, v: dict, dys: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
    if kind == "lstm":
        _, _, cache = cells.lstm_forward(v["x"], v["h"], v["c"], v["W"], v["U"], v["b"])
        names = ["x", "h", "c", "W", "U", "b"]
        return dict(zip(names, cells.lstm_backward(dys[0], dys[1], cache)))
    fwd, bwd = (cells.rnn_forward, cells.rnn_backward) if kind == "rnn" else (cells.gru_forward,
                                                                              cells.gru_backward)
    _, cache = fwd(v["x"], v["h"], v["W"], v["U"], v["b"])
    return dict(zip(["x", "h", "W", "U", "b"], bwd(dys[0], cache)))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", sorted(GATES))
def test_backward_matches_finite_differences(kind: str, bias: bool) -> None:
    v = _inputs(kind, bias)
    rng = np.random.default_rng(1)
    dys = tuple(rng.normal(size=(B, H)) for _ in _run(kind, v))
    got = _grads(kind, v, dys)
    eps = 1e-6
    for name, arr in v.items():
        if arr is None:
            assert got[name] is None
            continue
        num = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + eps
            up = sum(float((y * dy).sum()) for y, dy in zip(_run(kind, v), dys))
            arr[i] = old - eps
            down = sum(float((y * dy).sum()) for y, dy in zip(_run(kind, v), dys))
            arr[i] = old
            num[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(got[name], num, rtol=1e-5, atol=1e-7, err_msg=f"{kind} d{name}")


def _torch_cell(kind: str, v: dict) -> torch.nn.Module:
    """PyTorch's cell with our weights: gate orders agree; our one bias is its b_ih, its b_hh is 0."""
    cell = {"rnn": torch.nn.RNNCell, "gru": torch.nn.GRUCell, "lstm": torch.nn.LSTMCell}[kind](D, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(v["W"]))
        cell.weight_hh.copy_(torch.from_numpy(v["U"]))
        cell.bias_ih.copy_(torch.from_numpy(v["b"]))
        cell.bias_hh.zero_()
    return cell


@pytest.mark.parametrize("kind", sorted(GATES))
def test_forward_matches_pytorch_cells(kind: str) -> None:
    v = _inputs(kind)
    cell = _torch_cell(kind, v)
    x, h = torch.from_numpy(v["x"]), torch.from_numpy(v["h"])
    with torch.no_grad():
        want = cell(x, (h, torch.from_numpy(v["c"]))) if kind == "lstm" else (cell(x, h),)
    for got, w in zip(_run(kind, v), want):
        np.testing.assert_allclose(got, w.numpy(), rtol=1e-12, atol=1e-12)
