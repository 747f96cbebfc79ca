"""Param initialisation: the six ParamGenProto methods of SINGA v0.1 (param.cc).

Values are drawn for the whole, unpartitioned param from a stream named by the job seed and the
param's name, so every process, partition and resumed run draws the same numbers. They are drawn in
float32 and scaled in place (a param needs its own size to start, no more), from numpy's PCG64 bits and
its float32 conversions, which are the same on every platform.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from singa_proto import job_pb2

from .seeds import make_rng

Shape = tuple[int, ...]


def _affine(values: np.ndarray, scale: float, shift: float) -> np.ndarray:
    """values * scale + shift, in place in float32: the scalars are rounded to float32 once, so the result
    depends on IEEE float32 arithmetic alone (no float64 temporaries, no promotion rules)."""
    values *= np.float32(scale)
    if shift:
        values += np.float32(shift)
    return values


# Each draw is a float32 array of the param's shape, scaled in place by `value` (SINGA multiplies by it
# when it is not 1; by 1 changes nothing) and `k`, a fan-in method's 1 / divisor.
def _gaussian(gen: job_pb2.ParamGenProto, shape: Shape, rng: np.random.Generator, k: float = 1.0) -> np.ndarray:
    # normal(mean, std) * k = z * (std k) + mean k, with z standard normal
    return _affine(rng.standard_normal(shape, dtype=np.float32), gen.std * gen.value * k,
                   gen.mean * gen.value * k)


def _uniform(gen: job_pb2.ParamGenProto, shape: Shape, rng: np.random.Generator, k: float = 1.0) -> np.ndarray:
    # uniform(low, high) * k = u * ((high - low) k) + low k, with u uniform in [0, 1)
    return _affine(rng.random(shape, dtype=np.float32), (gen.high - gen.low) * gen.value * k,
                   gen.low * gen.value * k)


def _fan_in(shape: Shape) -> int:
    # SINGA's params are 2-D {out, in}; a conv weight kept as {nf, C, k, k} has fan-in C*k*k
    return math.prod(shape[1:])


INIT_METHODS: dict[str, Callable[[job_pb2.ParamGenProto, Shape, np.random.Generator], np.ndarray]] = {
    "kConstant": lambda gen, shape, rng: np.full(shape, gen.value, dtype=np.float32),
    "kGaussian": _gaussian,
    "kUniform": _uniform,
    "kGaussianSqrtFanIn": lambda gen, shape, rng: _gaussian(gen, shape, rng, 1 / math.sqrt(_fan_in(shape))),
    "kUniformSqrtFanIn": lambda gen, shape, rng: _uniform(gen, shape, rng, 1 / math.sqrt(_fan_in(shape) / 3)),
    "kUniformSqrtFanInOut": lambda gen, shape, rng: _uniform(gen, shape, rng,
                                                             1 / math.sqrt(shape[0] + _fan_in(shape))),
}
FAN_METHODS = ("kGaussianSqrtFanIn", "kUniformSqrtFanIn", "kUniformSqrtFanInOut")


def init_param(gen: job_pb2.ParamGenProto, shape: tuple[int, ...] | list[int], seed: int,
               name: str) -> np.ndarray:
    """The initial float32 value of the whole param `name` of `shape`, drawn as `gen` says."""
    shape = tuple(int(s) for s in shape)
    method = job_pb2.InitMethod.Name(gen.type)
    if method == "kConst":  # enum alias: Name() may report either spelling
        method = "kConstant"
    if method == "kUniformFanInOut":
        method = "kUniformSqrtFanInOut"
    if method not in INIT_METHODS:
        raise ValueError(f"param {name!r}: init type {method} is not supported in this build; "
                         f"known: {', '.join(INIT_METHODS)}")
    if method in FAN_METHODS and (len(shape) < 2 or _fan_in(shape) == 0):
        raise ValueError(f"param {name!r}: init type {method} needs a param of 2 or more "
                         f"dimensions, got shape {list(shape)}")
    return INIT_METHODS[method](gen, shape, make_rng(seed, name))
