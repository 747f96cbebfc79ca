"""Param init: the six methods' formulas, the named random stream, and errors."""
from __future__ import annotations

import math
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from singa_proto import job_pb2
from singa_spec import SingaError
from singart.params.init import init_param
from singart.params.seeds import stable_hash


def _gen(text: str) -> job_pb2.ParamGenProto:
    from google.protobuf import text_format
    return text_format.Parse(text, job_pb2.ParamGenProto())


def _stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, stable_hash(name)])


SHAPE = (30, 20)


def _u(r: np.random.Generator) -> np.ndarray:
    """The uniform [0, 1) draws init takes from the stream (float32), in float64."""
    return r.random(SHAPE, dtype=np.float32).astype(np.float64)


def _z(r: np.random.Generator) -> np.ndarray:
    """The standard normal draws init takes from the stream (float32), in float64."""
    return r.standard_normal(SHAPE, dtype=np.float32).astype(np.float64)


F32_01 = float(np.float32(0.1))  # the proto's float fields hold float32 values
CASES = {  # conf -> the value computed in float64 from the same draws
    "type: kConstant value: 0.5": lambda r: np.full(SHAPE, 0.5),
    "type: kGaussian mean: 1 std: 2": lambda r: 1 + 2 * _z(r),
    "type: kGaussian std: 0.1 value: 3": lambda r: F32_01 * _z(r) * 3,
    "type: kUniform low: -2 high: 3": lambda r: -2 + 5 * _u(r),
    "type: kUniform value: 0.5": lambda r: (-1 + 2 * _u(r)) * 0.5,
    "type: kGaussianSqrtFanIn": lambda r: _z(r) / math.sqrt(20),
    "type: kUniformSqrtFanIn": lambda r: (-1 + 2 * _u(r)) / math.sqrt(20 / 3),
    "type: kUniformSqrtFanInOut": lambda r: (-1 + 2 * _u(r)) / math.sqrt(50),
    "type: kUniformFanInOut": lambda r: (-1 + 2 * _u(r)) / math.sqrt(50),
    "type: kConst": lambda r: np.ones(SHAPE),
}


@pytest.mark.parametrize("text", list(CASES))
def test_method_matches_formula(text):
    got = init_param(_gen(text), SHAPE, 7, "fc1/weight")
    assert got.dtype == np.float32 and got.shape == SHAPE and got.flags.c_contiguous
    np.testing.assert_allclose(got, CASES[text](_stream(7, "fc1/weight")), rtol=1e-6, atol=1e-6)


# The first values of (seed 7, "fc1/weight"), shape (4, 5): numpy's PCG64 stream and its float32 draws are
# the same on every platform, so a change here (numpy, platform, or this code) changes every run's start.
GOLDEN = {
    "type: kConstant value: 0.5": [0.5, 0.5, 0.5, 0.5, 0.5],
    "type: kGaussian mean: 1 std: 2 value: 3": [13.880034, 15.301096, -1.129858, 10.190884, 7.9379625],
    "type: kUniform low: -2 high: 3 value: 0.5": [0.7783263, 1.4484122, 1.1689456, 0.035271645, 0.299654],
    "type: kGaussianSqrtFanIn std: 2": [1.6218998, 1.833739, -0.6156429, 1.0719537, 0.736108],
    "type: kUniformSqrtFanIn low: -0.5 high: 1": [0.43919307, 0.75062084, 0.6207365, 0.09385243, 0.21672624],
    "type: kUniformSqrtFanInOut": [0.14088702, 0.3195766, 0.24505213, -0.0572609, 0.013241053],
}


@pytest.mark.parametrize("text", list(GOLDEN))
def test_golden_values(text):
    got = init_param(_gen(text), (4, 5), 7, "fc1/weight")
    np.testing.assert_array_equal(got.ravel()[:5], np.array(GOLDEN[text], np.float32))


@pytest.mark.parametrize("text", list(GOLDEN))
def test_a_large_param_needs_little_more_than_its_own_memory(text):
    """Drawn in float32 and scaled in place: no float64 copy of the param (2000 x 2000: 16 MB)."""
    shape = (2000, 2000)
    gen = _gen(text)
    init_param(gen, (2, 2), 0, "warm-up")  # imports and caches outside the measurement
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        w = init_param(gen, shape, 0, "big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert w.dtype == np.float32 and w.shape == shape
    assert peak < 1.5 * w.nbytes, f"peak {peak / 2**20:.1f} MiB for a {w.nbytes / 2**20:.1f} MiB param"


STATS_SHAPE = (500, 400)  # fan-in 400, fan-in + fan-out 900; 200,000 values
STATS = {  # conf -> (mean, std, low, high) as SINGA defines the method; None: no bound
    "type: kConstant value: -0.25": (-0.25, 0.0, None, None),
    "type: kGaussian mean: 1 std: 2": (1.0, 2.0, None, None),
    "type: kGaussian mean: 1 std: 2 value: 0.5": (0.5, 1.0, None, None),
    "type: kUniform low: -2 high: 3": (0.5, 5 / math.sqrt(12), -2.0, 3.0),
    "type: kUniform low: -2 high: 3 value: 0.5": (0.25, 2.5 / math.sqrt(12), -1.0, 1.5),
    "type: kGaussianSqrtFanIn std: 2": (0.0, 2 / math.sqrt(400), None, None),
    "type: kUniformSqrtFanIn": (0.0, 1 / math.sqrt(400), -math.sqrt(3 / 400), math.sqrt(3 / 400)),
    "type: kUniformSqrtFanInOut": (0.0, 1 / math.sqrt(3 * 900), -1 / math.sqrt(900), 1 / math.sqrt(900)),
}


@pytest.mark.parametrize("text", list(STATS))
def test_statistics(text):
    w = init_param(_gen(text), STATS_SHAPE, 3, "w").astype(np.float64)
    mean, std, low, high = STATS[text]
    if std == 0:
        assert np.all(w == np.float32(mean))
        return
    n = w.size
    assert abs(w.mean() - mean) < 5 * std / math.sqrt(n) + 1e-7
    assert abs(w.std() - std) < 0.01 * std + 1e-7
    if low is not None:
        assert np.float32(low) <= w.min() < low + 0.001 * (high - low)
        assert high - 0.001 * (high - low) < w.max() <= np.float32(high)


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
    with pytest.raises(SingaError, match="param 'w': param init method: type: kUserInit needs user_type"):
        init_param(_gen("type: kUserInit"), (3, 3), 0, "w")
    with pytest.raises(SingaError, match=r"param 'w': no param init method 'Foo' is registered; known: .*kGaussian"):
        init_param(_gen('user_type: "Foo"'), (3, 3), 0, "w")
    with pytest.raises(ValueError, match=r"param 'b': init type kGaussianSqrtFanIn needs .* \[10\]"):
        init_param(_gen("type: kGaussianSqrtFanIn"), (10,), 0, "b")
