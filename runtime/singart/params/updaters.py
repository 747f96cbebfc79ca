"""Updaters: SGD (+momentum), Nesterov, AdaGrad, RMSProp (SINGA v0.1's rules) and Adam.

Every rule works in place on the param's value with per-name history and scratch buffers, so a
step allocates nothing. Per param: lr = LR(step)·lr_scale, wd = weight_decay·wd_scale; the gradient
is first multiplied by grad_scale, then wd·w is added, then the rule runs. The rules are a registry by
name (`register_updater`): the built-ins are registered there as a plugin's are, and a built-in may
also give a one-pass kernel and a fold into the gradient's GEMM, which a user's rule need not.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from singa_proto import job_pb2

from .. import ops
from ..registry import Registry
from .lr import lr_schedule


def clip_factor(square_sum: float, clip_norm: float) -> float:
    """What multiplies every gradient whose squares sum to `square_sum` so that their global L2 norm is
    at most `clip_norm`: 1 when it is already, else clip_norm / (norm + 1e-6), as
    torch.nn.utils.clip_grad_norm_ computes it."""
    return min(1.0, clip_norm / (float(np.sqrt(square_sum)) + 1e-6))


class Updater:
    """Applies one UpdaterProto's rule to named params, keeping each param's history."""

    def __init__(self, conf: job_pb2.UpdaterProto) -> None:
        self.kind, self.rules, self.conf = UPDATERS.pick(conf)
        self.lr = lr_schedule(conf.learning_rate)
        self.slots: dict[str, dict[str, np.ndarray]] = {}
        self.counts: dict[str, int] = {}  # updates applied per param (Adam's bias correction)
        self._scratch: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._row_step: dict[str, int] = {}  # the step whose row updates are under way, per param
        self._lock = threading.Lock()

    def update(self, step: int, name: str, value: np.ndarray, grad: np.ndarray,
               lr_scale: float = 1.0, wd_scale: float = 1.0, grad_scale: float = 1.0) -> None:
        """Update `value` (float32, in place) with `grad` (left untouched) at `step`."""
        self.counts[name] = t = self.counts.get(name, 0) + 1
        self._apply(step, t, name, value, grad, slice(None), (lr_scale, wd_scale, grad_scale))

    def update_rows(self, step: int, name: str, value: np.ndarray, grad: np.ndarray, rows: slice,
                    lr_scale: float = 1.0, wd_scale: float = 1.0) -> None:
        """Update rows `rows` of `value` from those of `grad`. Every rule is element-wise, so several
        threads may update disjoint rows of one param at once; the first to come counts the step's one
        update (Adam's bias correction uses that count)."""
        with self._lock:  # history and scratch are made once, whichever thread comes first
            self._slots(name, value)
            if self.rules.one_pass is None:
                self._buffers(name, value)
            if self._row_step.get(name) != step:
                self._row_step[name] = step
                self.counts[name] = self.counts.get(name, 0) + 1
            t = self.counts[name]
        self._apply(step, t, name, value, grad, rows, (lr_scale, wd_scale, 1.0))

    def _apply(self, step: int, t: int, name: str, value: np.ndarray, grad: np.ndarray, rows: slice,
               scales: tuple[float, float, float]) -> None:
        """The rule on rows `rows` (all of them: slice(None)) of one param, as its `t`-th update."""
        lr_scale, wd_scale, grad_scale = scales
        wd, lr = self.conf.weight_decay * wd_scale, self.lr(step) * lr_scale
        slots = {k: v[rows] for k, v in self._slots(name, value).items()}
        w, grad = value[rows], grad[rows]
        if self.rules.one_pass is not None:  # the whole rule in one kernel pass: no scratch, no temporaries
            self.rules.one_pass(self, w, grad, slots, lr, wd, grad_scale)
            return
        assert self.rules.step is not None
        g, tmp = (b[rows] for b in self._buffers(name, value))
        np.multiply(grad, grad_scale, out=g)
        if wd:
            np.multiply(w, wd, out=tmp)
            g += tmp
        self.rules.step(self, w, g, tmp, slots, lr, t)

    def fold(self, step: int, name: str, lr_scale: float = 1.0, wd_scale: float = 1.0,
             grad_scale: float = 1.0) -> tuple[float, float] | None:
        """(alpha, beta) such that w = beta w + alpha grad is this step's update of `name`, for rules
        that are linear in w and grad with no history (the caller then applies it, e.g. inside the
        GEMM that makes grad); None for the others. A returned fold counts as an applied update."""
        rule = self.rules.fold
        coef = rule(self, self.lr(step) * lr_scale, self.conf.weight_decay * wd_scale, grad_scale) if rule else None
        if coef is not None:
            self.counts[name] = self.counts.get(name, 0) + 1
        return coef

    def foldable(self) -> bool:
        """Whether `fold` gives coefficients for this updater's rule (it does for every step or none)."""
        rule = self.rules.fold
        return rule is not None and rule(self, 1.0, 0.0, 1.0) is not None

    def _slots(self, name: str, value: np.ndarray) -> dict[str, np.ndarray]:
        if name not in self.slots:
            self.slots[name] = {s: np.zeros_like(value) for s in self.rules.slots}
        return self.slots[name]

    def _buffers(self, name: str, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if name not in self._scratch or self._scratch[name][0].shape != value.shape:
            self._scratch[name] = (np.empty_like(value), np.empty_like(value))
        return self._scratch[name]

    def state(self) -> dict[str, np.ndarray]:
        """History for a checkpoint: '<param>/<slot>' -> array, '<param>/count' -> [updates]."""
        out = {f"{name}/{slot}": arr.copy() for name, slots in self.slots.items()
               for slot, arr in slots.items()}
        out.update({f"{name}/count": np.array([n], np.float64) for name, n in self.counts.items()})
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what state() returned (arrays are copied in as float32)."""
        for key, arr in state.items():
            name, _, slot = key.rpartition("/")
            if slot == "count":
                self.counts[name] = int(np.asarray(arr).ravel()[0])
            elif slot in self.rules.slots:
                self.slots.setdefault(name, {})[slot] = np.array(arr, np.float32)
            else:
                raise ValueError(f"updater state: unknown entry {key!r} for {self.kind}")


Rule = Callable[[Updater, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray], float, int],
                None]


def _sgd_one_pass(u: Updater, w: np.ndarray, grad: np.ndarray, s: dict[str, np.ndarray], lr: float,
                  wd: float, grad_scale: float) -> None:
    m = u.conf.momentum
    ops.sgd_update(w, grad, s["history"] if m > 0 else None, lr, wd, m, grad_scale)


def _sgd_fold(u: Updater, lr: float, wd: float, grad_scale: float) -> tuple[float, float] | None:
    # w -= lr (gs g + wd w)  is  w = (1 - lr wd) w - lr gs g; momentum keeps history, so it cannot fold
    return None if u.conf.momentum > 0 else (-lr * grad_scale, 1.0 - lr * wd)


def _nesterov(u: Updater, w: np.ndarray, g: np.ndarray, tmp: np.ndarray, s: dict[str, np.ndarray],
              lr: float, t: int) -> None:
    # h' = m·h + lr·g; w −= (1+m)·h' − m·h
    m, h = u.conf.momentum, s["history"]
    np.multiply(h, m, out=tmp)      # tmp = m·h (the old history's share)
    h *= m
    g *= lr
    h += g                          # h = h'
    np.multiply(h, 1 + m, out=g)    # g = (1+m)·h'
    g -= tmp
    w -= g


def _adagrad(u: Updater, w: np.ndarray, g: np.ndarray, tmp: np.ndarray, s: dict[str, np.ndarray],
             lr: float, t: int) -> None:
    # H += g²; w −= lr·g/√(H+δ)
    h = s["history"]
    np.multiply(g, g, out=tmp)
    h += tmp
    _scaled_step(w, g, h, tmp, lr, u.conf.delta)


def _rmsprop(u: Updater, w: np.ndarray, g: np.ndarray, tmp: np.ndarray, s: dict[str, np.ndarray],
             lr: float, t: int) -> None:
    # H = ρH + (1−ρ)g²; w −= lr·g/√(H+δ)
    rho, h = u.conf.rmsprop_conf.rho, s["history"]
    np.multiply(g, g, out=tmp)
    tmp *= 1 - rho
    h *= rho
    h += tmp
    _scaled_step(w, g, h, tmp, lr, u.conf.delta)


def _scaled_step(w: np.ndarray, g: np.ndarray, h: np.ndarray, tmp: np.ndarray, lr: float,
                 delta: float) -> None:
    """w −= lr·g/√(h+δ), in place."""
    np.add(h, delta, out=tmp)
    np.sqrt(tmp, out=tmp)
    g *= lr
    g /= tmp
    w -= g


def _adam(u: Updater, w: np.ndarray, g: np.ndarray, tmp: np.ndarray, s: dict[str, np.ndarray],
          lr: float, t: int) -> None:
    # m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; w −= lr·m̂/(√v̂ + δ), m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)
    b1, b2 = u.conf.adam_conf.beta1, u.conf.adam_conf.beta2
    m, v = s["m"], s["v"]
    m *= b1
    np.multiply(g, 1 - b1, out=tmp)
    m += tmp
    v *= b2
    np.multiply(g, g, out=tmp)
    tmp *= 1 - b2
    v += tmp
    np.divide(v, 1 - b2 ** t, out=tmp)
    np.sqrt(tmp, out=tmp)
    tmp += u.conf.delta
    np.divide(m, tmp, out=g)
    g *= lr / (1 - b1 ** t)
    w -= g


OneShot = Callable[[Updater, np.ndarray, np.ndarray, dict[str, np.ndarray], float, float, float], None]
Fold = Callable[[Updater, float, float, float], "tuple[float, float] | None"]


@dataclass(frozen=True)
class UpdateRule:
    """One updater kind: the history slots it keeps per param (each shaped like the param) and its rule.

    `step(updater, w, g, tmp, slots, lr, t)` updates `w` in place from `g`, the gradient already scaled
    and with weight decay added (a scratch buffer it may overwrite, as `tmp`), at the param's `t`-th
    update. A built-in may instead give `one_pass(updater, w, grad, slots, lr, wd, grad_scale)`, the
    whole rule in one kernel from the raw gradient, and `fold(updater, lr, wd, grad_scale)`, the
    (alpha, beta) of w = beta w + alpha grad for rules linear in w and grad (None when it cannot fold).
    """

    slots: tuple[str, ...] = ()
    step: Rule | None = None
    one_pass: OneShot | None = None
    fold: Fold | None = None


UPDATERS: Registry[UpdateRule] = Registry("updater")


def register_updater(name: str, step: Rule | None = None, slots: tuple[str, ...] = (),
                     one_pass: OneShot | None = None, fold: Fold | None = None) -> UpdateRule:
    """Make the rule `step` (or `one_pass`) the updater `name`: `updater { type: kUserUpdater
    user_type: "name" }` in a job picks it; the updater's conf (`updater.conf`, extensions included)
    is the UpdaterProto."""
    if step is None and one_pass is None:
        raise ValueError(f"updater {name}: give its rule")
    return UPDATERS.register(name, UpdateRule(tuple(slots), step, one_pass, fold))


register_updater("kSGD", slots=("history",), one_pass=_sgd_one_pass, fold=_sgd_fold)
register_updater("kNesterov", _nesterov, ("history",))
register_updater("kAdaGrad", _adagrad, ("history",))
register_updater("kRMSProp", _rmsprop, ("history",))
register_updater("kAdam", _adam, ("m", "v"))


def make_updater(conf: job_pb2.UpdaterProto) -> Updater:
    """The updater `conf` describes; an unknown type is a one-line SingaError, a bad schedule a
    one-line ValueError."""
    return Updater(conf)
