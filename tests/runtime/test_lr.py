"""Learning-rate schedules: the seven change methods against their formulas."""
from __future__ import annotations

import math

import pytest
from google.protobuf import text_format
from singa_proto import job_pb2
from singa_spec import SingaError
from singart.params.lr import learning_rate, lr_schedule


def _conf(text: str) -> job_pb2.LRGenProto:
    return text_format.Parse(text, job_pb2.LRGenProto())


F = float(job_pb2.LRGenProto(base_lr=0.1).base_lr)  # 0.1 as the proto stores it (float32)

CASES = {
    "type: kFixed base_lr: 0.1": lambda s: F,
    "type: kInverseT base_lr: 0.1 inverset_conf { final_lr: 50 }": lambda s: F / (1 + s / 50),
    "type: kInverse base_lr: 0.1 inverse_conf { gamma: 0.5 pow: 0.75 }":
        lambda s: F * (1 + 0.5 * s) ** -0.75,
    "type: kExponential base_lr: 0.1 exponential_conf { change_freq: 40 }": lambda s: F / 2 ** (s / 40),
    "type: kLinear base_lr: 0.1 linear_conf { change_freq: 200 final_lr: 0.5 }":
        lambda s: (1 - s / 200) * F + (s / 200) * 0.5,
    "type: kStep base_lr: 0.1 step_conf { gamma: 0.5 change_freq: 30 }":
        lambda s: F * 0.5 ** math.floor(s / 30),
}


@pytest.mark.parametrize("text", list(CASES))
@pytest.mark.parametrize("step", [0, 1, 29, 30, 61, 150])
def test_schedule_formula(text, step):
    assert learning_rate(_conf(text), step) == pytest.approx(CASES[text](step), rel=1e-6)


def test_step_is_integer_division_and_exponential_is_not():
    step = _conf("type: kStep base_lr: 1 step_conf { gamma: 0.1 change_freq: 10 }")
    assert learning_rate(step, 9) == 1.0 and learning_rate(step, 10) == pytest.approx(0.1)
    exp = _conf("type: kExponential base_lr: 1 exponential_conf { change_freq: 10 }")
    assert learning_rate(exp, 5) == pytest.approx(2 ** -0.5)


def test_fixed_step_takes_the_last_boundary_passed():
    conf = _conf("type: kFixedStep fixedstep_conf { step: 0 step_lr: 0.001 step: 60 step_lr: 0.0001 "
                 "step: 65 step_lr: 0.00001 }")
    lr = lr_schedule(conf)
    got = [lr(s) for s in (0, 59, 60, 64, 65, 1000)]
    assert got == pytest.approx([0.001, 0.001, 0.0001, 0.0001, 0.00001, 0.00001])


@pytest.mark.parametrize("text,field", [
    ("type: kStep step_conf { gamma: 0.5 }", "step_conf.change_freq"),
    ("type: kInverseT", "inverset_conf.final_lr"),
    ("type: kFixedStep", "fixedstep_conf.step_lr"),
    ("type: kUserChange", "kUserChange needs user_type"),
    ('user_type: "Nope"', "no learning-rate schedule 'Nope' is registered; known: "),
])
def test_bad_conf_is_one_line_error(text, field):
    with pytest.raises((ValueError, SingaError), match=field.replace(".", r"\.")):
        lr_schedule(_conf(text))
