"""Updaters against their rules written out step by step (and torch.optim where it is installed)."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from google.protobuf import text_format
from singa_proto import job_pb2
from singa_spec import SingaError
from singart.params.updaters import make_updater

LR = "learning_rate { type: kStep base_lr: 0.1 step_conf { gamma: 0.5 change_freq: 2 } }"
CONFS = {
    "sgd": f"type: kSGD weight_decay: 0.01 {LR}",
    "momentum": f"type: kSGD momentum: 0.9 weight_decay: 0.01 {LR}",
    "nesterov": f"type: kNesterov momentum: 0.8 weight_decay: 0.01 {LR}",
    "adagrad": f"type: kAdaGrad delta: 1e-6 weight_decay: 0.01 {LR}",
    "rmsprop": f"type: kRMSProp delta: 1e-6 rmsprop_conf {{ rho: 0.7 }} weight_decay: 0.01 {LR}",
    "adam": f"type: kAdam delta: 1e-6 adam_conf {{ beta1: 0.8 beta2: 0.95 }} weight_decay: 0.01 {LR}",
}


def _conf(text: str) -> job_pb2.UpdaterProto:
    return text_format.Parse(text, job_pb2.UpdaterProto())


def _reference(kind, conf, w, grads, scales):
    """The rules of the spec, in float64, one line per formula."""
    lr_scale, wd_scale, grad_scale = scales
    m, delta, wd = conf.momentum, conf.delta, conf.weight_decay * wd_scale
    h, v = np.zeros_like(w), np.zeros_like(w)
    for t, (step, g) in enumerate(grads, start=1):
        lr = 0.1 * 0.5 ** (step // 2) * lr_scale
        g = g * grad_scale + wd * w
        if kind == "sgd":
            w = w - lr * g
        elif kind == "momentum":
            h = m * h - lr * g
            w = w + h
        elif kind == "nesterov":
            h_new = m * h + lr * g
            w = w - ((1 + m) * h_new - m * h)
            h = h_new
        elif kind == "adagrad":
            h = h + g * g
            w = w - lr * g / np.sqrt(h + delta)
        elif kind == "rmsprop":
            rho = conf.rmsprop_conf.rho
            h = rho * h + (1 - rho) * g * g
            w = w - lr * g / np.sqrt(h + delta)
        elif kind == "adam":
            b1, b2 = conf.adam_conf.beta1, conf.adam_conf.beta2
            h = b1 * h + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            w = w - lr * (h / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + delta)
    return w


def _grads(n=5, shape=(6, 4)):
    rng = np.random.default_rng(0)
    return [(step, rng.normal(size=shape).astype(np.float32)) for step in range(n)]


@pytest.mark.parametrize("kind", list(CONFS))
@pytest.mark.parametrize("scales", [(1.0, 1.0, 1.0), (2.0, 0.5, 0.25)])
def test_rule_matches_formula(kind, scales):
    conf = _conf(CONFS[kind])
    w0 = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    value, grads = w0.copy(), _grads()
    updater = make_updater(conf)
    for step, g in grads:
        before = g.copy()
        updater.update(step, "w", value, g, *scales)
        np.testing.assert_array_equal(g, before)  # the caller's gradient is left alone
    want = _reference(kind, conf, w0.astype(np.float64), grads, scales)
    np.testing.assert_allclose(value, want, rtol=2e-5, atol=2e-6)
    assert not np.allclose(value, w0)


def test_history_is_per_param_name():
    updater = make_updater(_conf(CONFS["momentum"]))
    a, b = np.ones(3, np.float32), np.ones(3, np.float32)
    g = np.full(3, 0.5, np.float32)
    updater.update(0, "a", a, g)
    updater.update(1, "a", a, g)
    updater.update(1, "b", b, g)  # b's first update: no momentum carried over from a
    expected_b = 1 - 0.1 * (0.5 + 0.01)
    np.testing.assert_allclose(b, expected_b, rtol=1e-6)
    assert not np.allclose(a, b)


@pytest.mark.parametrize("kind", ["momentum", "adam", "rmsprop"])
def test_state_roundtrip_continues_identically(kind):
    conf = _conf(CONFS[kind])
    grads = _grads(6)
    w_a = np.ones((6, 4), np.float32)
    a = make_updater(conf)
    for step, g in grads[:3]:
        a.update(step, "w", w_a, g)
    state = {k: v.copy() for k, v in a.state().items()}
    w_b = w_a.copy()
    b = make_updater(conf)
    b.load_state(state)
    for step, g in grads[3:]:
        a.update(step, "w", w_a, g)
        b.update(step, "w", w_b, g)
    np.testing.assert_array_equal(w_a, w_b)
    assert "w/count" in state


@pytest.mark.parametrize("kind", list(CONFS))
def test_steady_state_update_allocates_no_param_sized_buffers(kind):
    updater = make_updater(_conf(CONFS[kind]))
    value = np.ones(1 << 18, np.float32)  # 1 MiB
    grad = np.full_like(value, 0.01)
    updater.update(0, "w", value, grad)  # first call allocates history and scratch
    tracemalloc.start()
    updater.update(1, "w", value, grad)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < value.nbytes // 4


def test_unknown_updater_is_one_line_error():
    with pytest.raises(SingaError, match="updater: type: kUserUpdater needs user_type"):
        make_updater(_conf("type: kUserUpdater"))
    with pytest.raises(SingaError, match=r"no updater 'Nope' is registered; known: .*kAdaGrad.*kSGD"):
        make_updater(_conf('type: kUserUpdater user_type: "Nope"'))


TORCH_CASES = {  # kind -> (our conf, torch optimizer factory); delta 0 where torch puts eps outside
    "sgd": ("type: kSGD weight_decay: 0.01", lambda t, p: t.optim.SGD(p, lr=0.1, weight_decay=0.01)),
    "momentum": ("type: kSGD momentum: 0.9 weight_decay: 0.01",
                 lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01)),
    "nesterov": ("type: kNesterov momentum: 0.9",
                 lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    "adagrad": ("type: kAdaGrad delta: 0", lambda t, p: t.optim.Adagrad(p, lr=0.1, eps=0)),
    "rmsprop": ("type: kRMSProp delta: 0 rmsprop_conf { rho: 0.9 }",
                lambda t, p: t.optim.RMSprop(p, lr=0.1, alpha=0.9, eps=0)),
    "adam": ("type: kAdam delta: 1e-8", lambda t, p: t.optim.Adam(p, lr=0.1, eps=1e-8)),
}


@pytest.mark.parametrize("kind", list(TORCH_CASES))
def test_matches_torch_optim(kind):
    import torch  # a test dependency (the test extra): the oracle must run, not skip
    text, make = TORCH_CASES[kind]
    conf = _conf(text + " learning_rate { base_lr: 0.1 }")
    w0 = np.random.default_rng(3).normal(size=(5, 3)).astype(np.float32)
    param = torch.nn.Parameter(torch.tensor(w0.copy()))
    opt, ours, value = make(torch, [param]), make_updater(conf), w0.copy()
    for step, g in _grads(4, (5, 3)):
        param.grad = torch.tensor(g)
        opt.step()
        ours.update(step, "w", value, g)
    np.testing.assert_allclose(value, param.detach().numpy(), rtol=1e-5, atol=1e-6)
