"""The recurrent cell kernels (rnn, gru, lstm; one step, forward and backward) against the NumPy reference,
PyTorch's cells with the same weights, and finite differences; bad arguments give one-line errors."""
from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest
from singart import reference_cells as ref
from singart import rnn_ops

from .test_kernels import rand

TOL = 1e-5
KINDS = ("rnn", "gru", "lstm")
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
TORCH_CELLS = {"rnn": "RNNCell", "gru": "GRUCell", "lstm": "LSTMCell"}
PARAMS = ("w_ih", "w_hh", "b_ih", "b_hh")


def case(kind: str, batch: int, inp: int, hidden: int, seed: int = 0, bias: bool = True) -> dict:
    """One step's arrays: inputs, weights (PyTorch's scale) and output gradients."""
    rng = np.random.default_rng(seed)
    g, s = GATES[kind] * hidden, max(hidden, 1) ** -0.5
    return {"x": rand(rng, batch, inp), "h_prev": rand(rng, batch, hidden), "c_prev": rand(rng, batch, hidden),
            "w_ih": s * rand(rng, g, inp), "w_hh": s * rand(rng, g, hidden),
            "b_ih": s * rand(rng, g) if bias else None, "b_hh": s * rand(rng, g) if bias else None,
            "dh": rand(rng, batch, hidden), "dc": rand(rng, batch, hidden)}


def kernel_step(kind: str, c: dict, grads: dict | None = None) -> tuple[dict, dict]:
    """The kernels' forward outputs and backward gradients; the parameter gradients are added to `grads`."""
    g = grads if grads is not None else {p: np.zeros_like(c[p]) if c[p] is not None else None for p in PARAMS}
    acc = [g[p] for p in PARAMS]
    w = (c["w_ih"], c["w_hh"], c["b_ih"], c["b_hh"])
    if kind == "lstm":
        h, cn, cache = rnn_ops.lstm_forward(c["x"], c["h_prev"], c["c_prev"], *w)
        dx, dh_prev, dc_prev = rnn_ops.lstm_backward(c["dh"], c["dc"], cache, *acc)
        return {"h": h, "c": cn}, {"x": dx, "h_prev": dh_prev, "c_prev": dc_prev, **g}
    fwd, bwd = {"rnn": (rnn_ops.rnn_forward, rnn_ops.rnn_backward),
                "gru": (rnn_ops.gru_forward, rnn_ops.gru_backward)}[kind]
    h, cache = fwd(c["x"], c["h_prev"], *w)
    dx, dh_prev = bwd(c["dh"], cache, *acc)
    return {"h": h}, {"x": dx, "h_prev": dh_prev, **g}


def reference_step(kind: str, c: dict, dtype: type = np.float32) -> tuple[dict, dict]:
    """The NumPy reference's outputs and gradients, in `dtype`."""
    a = {k: None if v is None else v.astype(dtype) for k, v in c.items()}
    args = [a[k] for k in ("x", "h_prev", "w_ih", "w_hh", "b_ih", "b_hh")]
    if kind == "lstm":
        h, cn = ref.lstm_cell(a["x"], a["h_prev"], a["c_prev"], *args[2:])
        grads = ref.lstm_cell_backward(a["dh"], a["dc"], a["x"], a["h_prev"], a["c_prev"], *args[2:])
        return {"h": h, "c": cn}, grads
    cell, back = {"rnn": (ref.rnn_cell, ref.rnn_cell_backward), "gru": (ref.gru_cell, ref.gru_cell_backward)}[kind]
    return {"h": cell(*args)}, back(a["dh"], *args)


def assert_close(got: dict, want: dict) -> None:
    for k, v in want.items():
        if got.get(k) is not None:
            np.testing.assert_allclose(got[k], v, rtol=TOL, atol=TOL, err_msg=k)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch,inp,hidden,bias", [(1, 1, 1, True), (4, 7, 5, True), (33, 20, 70, False)])
def test_cell_matches_the_numpy_reference(kind: str, batch: int, inp: int, hidden: int, bias: bool) -> None:
    c = case(kind, batch, inp, hidden, bias=bias)
    out, grads = kernel_step(kind, c)
    want_out, want_grads = reference_step(kind, c, np.float64)
    assert_close(out, want_out)
    assert_close(grads, want_grads)
    assert set(grads) - {"b_ih", "b_hh"} <= set(want_grads)


@pytest.mark.parametrize("kind", KINDS)
def test_cell_matches_pytorch(kind: str) -> None:
    """Same weights in nn.{RNN,GRU,LSTM}Cell: outputs and every gradient agree to 1e-5."""
    # imported here, not at the top: a test that forks a child measures its peak memory, which on Linux
    # counts this process's pages before the exec
    import torch  # a test dependency (the test extra): the oracle must run, not skip

    c = case(kind, 16, 24, 32, seed=1)
    cell = getattr(torch.nn, TORCH_CELLS[kind])(24, 32)
    with torch.no_grad():
        for name in PARAMS:
            getattr(cell, name.replace("w_", "weight_").replace("b_", "bias_")).copy_(torch.from_numpy(c[name]))
    t = {k: torch.tensor(c[k], requires_grad=True) for k in ("x", "h_prev", "c_prev")}
    if kind == "lstm":
        h, cn = cell(t["x"], (t["h_prev"], t["c_prev"]))
        (h * torch.from_numpy(c["dh"]) + cn * torch.from_numpy(c["dc"])).sum().backward()
        want_out = {"h": h, "c": cn}
    else:
        h = cell(t["x"], t["h_prev"])
        (h * torch.from_numpy(c["dh"])).sum().backward()
        want_out = {"h": h}
    want_grads = {k: v.grad for k, v in t.items() if v.grad is not None}
    want_grads |= {p: getattr(cell, p.replace("w_", "weight_").replace("b_", "bias_")).grad for p in PARAMS}
    out, grads = kernel_step(kind, c)
    assert_close(out, {k: v.detach().numpy() for k, v in want_out.items()})
    assert_close(grads, {k: v.numpy() for k, v in want_grads.items()})
    assert len(grads) == len(want_grads)


@pytest.mark.parametrize("kind", KINDS)
def test_backward_adds_into_the_parameter_gradients(kind: str) -> None:
    """Backpropagation through time sums the parameter gradients over the steps: two backwards add twice."""
    c = case(kind, 3, 4, 5, seed=2)
    _, once = kernel_step(kind, c)
    grads = {p: np.full_like(c[p], 0.5) for p in PARAMS}
    kernel_step(kind, c, grads)
    kernel_step(kind, c, grads)
    for p in PARAMS:
        np.testing.assert_allclose(grads[p], 0.5 + 2 * once[p], rtol=TOL, atol=TOL, err_msg=p)


def loss(kind: str, c: dict, step: Callable[[str, dict], tuple[dict, dict]]) -> float:
    """sum(dh * h) (+ sum(dc * c)): its gradients are what backward computes from dh (and dc)."""
    out, _ = step(kind, c)
    return float(sum(np.sum(c["d" + k].astype(np.float64) * v) for k, v in out.items()))


@pytest.mark.parametrize("kind", KINDS)
def test_reference_gradients_match_finite_differences(kind: str) -> None:
    """The reference's backward is the derivative of its forward (float64, central differences)."""
    c = {k: None if v is None else v.astype(np.float64) for k, v in case(kind, 2, 3, 2, seed=3).items()}
    _, grads = reference_step(kind, c, np.float64)
    eps = 1e-6
    for name, g in grads.items():
        num = np.zeros_like(c[name])
        for i in np.ndindex(num.shape):
            keep = c[name][i]
            c[name][i] = keep + eps
            up = loss(kind, c, lambda k, a: reference_step(k, a, np.float64))
            c[name][i] = keep - eps
            num[i] = (up - loss(kind, c, lambda k, a: reference_step(k, a, np.float64))) / (2 * eps)
            c[name][i] = keep
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_gradients_match_finite_differences(kind: str) -> None:
    """The kernels' own backward against differences of their float32 forward (a coarse step, a loose bound)."""
    c = case(kind, 2, 3, 2, seed=4)
    _, grads = kernel_step(kind, c)
    eps = 1e-2
    for name in ("x", "h_prev", "w_hh", "b_ih"):
        num = np.zeros(c[name].shape)
        for i in np.ndindex(num.shape):
            keep = c[name][i]
            c[name][i] = keep + eps
            up = loss(kind, c, kernel_step)
            c[name][i] = keep - eps
            num[i] = (up - loss(kind, c, kernel_step)) / (2 * eps)
            c[name][i] = keep
        np.testing.assert_allclose(grads[name], num, rtol=2e-2, atol=2e-3, err_msg=name)


def test_cells_run_in_several_threads_at_once() -> None:
    """Each thread keeps its own gate buffers: concurrent steps give the one-thread results."""
    cases = [case("gru", 8, 16, 32, seed=s) for s in range(4)]
    want = [kernel_step("gru", c) for c in cases]
    got: list = [None] * len(cases)

    def run(i: int) -> None:
        for _ in range(20):
            got[i] = kernel_step("gru", cases[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (out, grads), (want_out, want_grads) in zip(got, want):
        assert_close(out, want_out)
        assert_close(grads, want_grads)


def test_empty_batch_and_empty_hidden() -> None:
    """No rows: nothing to compute, gradients unchanged; no hidden units: dx is a sum over nothing."""
    c = case("gru", 0, 3, 4)
    out, grads = kernel_step("gru", c)
    assert out["h"].shape == (0, 4) and not grads["w_ih"].any()
    c = case("lstm", 2, 3, 0)
    _, grads = kernel_step("lstm", c)
    assert grads["x"].shape == (2, 3) and not grads["x"].any()


def good_gru() -> dict:
    return case("gru", 2, 3, 4)


@pytest.mark.parametrize("change,match", [
    (lambda c: c.update(x=c["x"].astype(np.float64)), "^x: expected float32"),
    (lambda c: c.update(x=np.asfortranarray(np.ones((2, 3), np.float32))), "^x: must be C-contiguous"),
    (lambda c: c.update(h_prev=c["h_prev"][:1]), r"^h_prev: expected shape \(2, 4\), got \(1, 4\)"),
    (lambda c: c.update(w_hh=c["w_hh"][:, :3].copy()), r"^w_hh: expected \(3 \* hidden, hidden\)"),
    (lambda c: c.update(w_ih=c["w_ih"][:, :2].copy()), r"^w_ih: expected shape \(12, 3\), got \(12, 2\)"),
    (lambda c: c.update(b_hh=c["b_hh"][:5]), r"^b_hh: expected shape \(12\)"),
    (lambda c: c.update(x=c["x"][0]), "^x: expected a 2-D float32 array"),
    (lambda c: c.update(x=[[1.0, 2.0, 3.0]]), "^x: expected a 2-D float32 array, got list"),
])
def test_bad_forward_arguments_are_refused_in_one_line(change, match: str) -> None:
    c = good_gru()
    change(c)
    with pytest.raises(ValueError, match=match) as err:
        rnn_ops.gru_forward(c["x"], c["h_prev"], c["w_ih"], c["w_hh"], c["b_ih"], c["b_hh"])
    assert "\n" not in str(err.value)


def test_bad_backward_arguments_are_refused_in_one_line() -> None:
    c = good_gru()
    _, cache = rnn_ops.gru_forward(c["x"], c["h_prev"], c["w_ih"], c["w_hh"], c["b_ih"], c["b_hh"])
    dw = np.zeros_like(c["w_ih"])
    with pytest.raises(ValueError, match=r"^dw_hh: expected shape \(12, 4\)"):
        rnn_ops.gru_backward(c["dh"], cache, dw, dw, None, None)
    read_only = np.zeros_like(c["w_hh"])
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="^dw_hh: output array is read-only"):
        rnn_ops.gru_backward(c["dh"], cache, dw, read_only, None, None)
    with pytest.raises(ValueError, match="^dh: expected float32"):
        rnn_ops.gru_backward(c["dh"].astype(np.float64), cache, None, None, None, None)
    with pytest.raises(ValueError, match="^cache: expected the cache of a lstm forward, got CellCache of a gru"):
        rnn_ops.lstm_backward(c["dh"], None, cache, None, None, None, None)


def test_lstm_state_arguments_are_checked() -> None:
    c = case("lstm", 2, 3, 4)
    with pytest.raises(ValueError, match="^c_prev: an lstm cell needs it"):
        rnn_ops.lstm_forward(c["x"], c["h_prev"], None, c["w_ih"], c["w_hh"], None, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^c_prev: expected shape \(2, 4\)"):
        rnn_ops.lstm_forward(c["x"], c["h_prev"], c["c_prev"][:, :2].copy(), c["w_ih"], c["w_hh"], None, None)
    g = case("gru", 2, 3, 4)
    with pytest.raises(ValueError, match="^c_prev: only an lstm cell takes it"):
        rnn_ops._k.cell_forward(rnn_ops.GRU, g["x"], g["h_prev"], g["c_prev"], g["w_ih"], g["w_hh"], None,
                                None, np.empty((2, 4), np.float32), None, np.empty((2, 16), np.float32))
    with pytest.raises(ValueError, match="^cell: kind must be 0"):
        rnn_ops._k.cell_forward(7, g["x"], g["h_prev"], None, g["w_ih"], g["w_hh"], None, None,
                                np.empty((2, 4), np.float32), None, np.empty((2, 16), np.float32))


def test_dx_is_skipped_on_request() -> None:
    c = good_gru()
    _, cache = rnn_ops.gru_forward(c["x"], c["h_prev"], c["w_ih"], c["w_hh"], c["b_ih"], c["b_hh"])
    dx, dh_prev = rnn_ops.gru_backward(c["dh"], cache, None, None, None, None, need_dx=False)
    _, want = kernel_step("gru", c)
    assert dx is None
    np.testing.assert_allclose(dh_prev, want["h_prev"], rtol=TOL, atol=TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_reused_cache_writes_the_same_arrays_with_the_same_results(kind: str) -> None:
    """A later window passes the step's old cache: its gate and gradient arrays are written again, not
    fresh ones; a cache of another shape or kind gives fresh arrays."""
    a, b = case(kind, 3, 4, 5, seed=5), case(kind, 3, 4, 5, seed=6)
    w = (a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"])
    first = step_with(kind, a, w)
    second = step_with(kind, b, w, reuse=first[0])
    assert second[0].saved is first[0].saved
    assert all(x is y for x, y in zip(second[1], first[1]))
    want = step_with(kind, b, w)
    for got, expect in zip(second[1], want[1]):
        np.testing.assert_allclose(got, expect, rtol=TOL, atol=TOL)
    other = step_with(kind, case(kind, 2, 4, 5, seed=7), w, reuse=second[0])
    assert other[0].saved is not second[0].saved and other[0].saved.shape[0] == 2
    other_kind = "gru" if kind != "gru" else "rnn"
    c = case(other_kind, 3, 4, 5)
    fresh = step_with(other_kind, c, (c["w_ih"], c["w_hh"], None, None), reuse=first[0])
    assert fresh[0].saved is not first[0].saved


def step_with(kind: str, c: dict, w: tuple, reuse: rnn_ops.CellCache | None = None) -> tuple:
    """A forward (reusing `reuse`) and backward: the cache and backward's (dx, dh_prev[, dc_prev])."""
    if kind == "lstm":
        _, _, cache = rnn_ops.lstm_forward(c["x"], c["h_prev"], c["c_prev"], *w, reuse=reuse)
        return cache, rnn_ops.lstm_backward(c["dh"], c["dc"], cache, None, None, None, None)
    fwd, bwd = {"rnn": (rnn_ops.rnn_forward, rnn_ops.rnn_backward),
                "gru": (rnn_ops.gru_forward, rnn_ops.gru_backward)}[kind]
    _, cache = fwd(c["x"], c["h_prev"], *w, reuse=reuse)
    return cache, bwd(c["dh"], cache, None, None, None, None)
