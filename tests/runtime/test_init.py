"""Param init: the six methods' formulas, the named random stream, and errors."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from singa_proto import job_pb2
from singart.params.init import init_param
from singart.params.seeds import stable_hash


def _gen(text: str) -> job_pb2.ParamGenProto:
    from google.protobuf import text_format
    return text_format.Parse(text, job_pb2.ParamGenProto())


def _stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, stable_hash(name)])


SHAPE = (30, 20)
CASES = {  # conf -> the value written out with the same stream
    "type: kConstant value: 0.5": lambda r: np.full(SHAPE, 0.5),
    "type: kGaussian mean: 1 std: 2": lambda r: r.normal(1, 2, SHAPE),
    "type: kGaussian std: 0.1 value: 3": lambda r: r.normal(0, np.float32(0.1), SHAPE) * 3,
    "type: kUniform low: -2 high: 3": lambda r: r.uniform(-2, 3, SHAPE),
    "type: kUniform value: 0.5": lambda r: r.uniform(-1, 1, SHAPE) * 0.5,
    "type: kGaussianSqrtFanIn": lambda r: r.normal(0, 1, SHAPE) / math.sqrt(20),
    "type: kUniformSqrtFanIn": lambda r: r.uniform(-1, 1, SHAPE) / math.sqrt(20 / 3),
    "type: kUniformSqrtFanInOut": lambda r: r.uniform(-1, 1, SHAPE) / math.sqrt(50),
    "type: kUniformFanInOut": lambda r: r.uniform(-1, 1, SHAPE) / math.sqrt(50),
    "type: kConst": lambda r: np.ones(SHAPE),
}


@pytest.mark.parametrize("text", list(CASES))
def test_method_matches_formula(text):
    got = init_param(_gen(text), SHAPE, 7, "fc1/weight")
    assert got.dtype == np.float32 and got.shape == SHAPE
    np.testing.assert_allclose(got, CASES[text](_stream(7, "fc1/weight")), rtol=1e-6, atol=1e-7)


def test_statistics_of_fan_in_gaussian():
    w = init_param(_gen("type: kGaussianSqrtFanIn std: 1"), (400, 100), 1, "w")
    assert abs(w.std() - 0.1) < 0.005 and abs(w.mean()) < 0.005


def test_stream_depends_on_seed_and_name_only():
    gen = _gen("type: kGaussian")
    a = init_param(gen, (4, 5), 3, "w")
    np.testing.assert_array_equal(a, init_param(gen, (4, 5), 3, "w"))
    assert not np.array_equal(a, init_param(gen, (4, 5), 4, "w"))
    assert not np.array_equal(a, init_param(gen, (4, 5), 3, "b"))


def test_name_hash_is_the_same_in_another_process():
    code = "from singart.params.seeds import stable_hash; print(stable_hash('conv1/weight'))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert int(out.stdout) == stable_hash("conv1/weight") and stable_hash("x") < 2 ** 64


def test_four_d_weight_uses_channels_times_kernel_as_fan_in():
    w4 = init_param(_gen("type: kUniformSqrtFanIn"), (8, 3, 5, 5), 0, "conv")
    w2 = init_param(_gen("type: kUniformSqrtFanIn"), (8, 75), 0, "conv")
    np.testing.assert_array_equal(w4.reshape(8, 75), w2)


def test_user_init_and_bad_shape_are_one_line_errors():
    with pytest.raises(ValueError, match="param 'w': init type kUserInit is not supported"):
        init_param(_gen("type: kUserInit"), (3, 3), 0, "w")
    with pytest.raises(ValueError, match=r"param 'b': init type kGaussianSqrtFanIn needs .* \[10\]"):
        init_param(_gen("type: kGaussianSqrtFanIn"), (10,), 0, "b")
