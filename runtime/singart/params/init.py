"""Param initialisation: the six ParamGenProto methods of SINGA v0.1 (param.cc).

Values are drawn for the whole, unpartitioned param from a stream named by the job seed and the
param's name, so every process, partition and resumed run draws the same numbers.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from singa_proto import job_pb2

from .seeds import make_rng

Shape = tuple[int, ...]


def _scaled(values: np.ndarray, gen: job_pb2.ParamGenProto) -> np.ndarray:
    # SINGA multiplies by `value` only when it differs from 1
    return values * gen.value if gen.value != 1 else values


def _gaussian(gen: job_pb2.ParamGenProto, shape: Shape, rng: np.random.Generator) -> np.ndarray:
    return _scaled(rng.normal(gen.mean, gen.std, shape), gen)


def _uniform(gen: job_pb2.ParamGenProto, shape: Shape, rng: np.random.Generator) -> np.ndarray:
    return _scaled(rng.uniform(gen.low, gen.high, shape), gen)


def _fan_in(shape: Shape) -> int:
    # SINGA's params are 2-D {out, in}; a conv weight kept as {nf, C, k, k} has fan-in C*k*k
    return math.prod(shape[1:])


INIT_METHODS: dict[str, Callable[[job_pb2.ParamGenProto, Shape, np.random.Generator], np.ndarray]] = {
    "kConstant": lambda gen, shape, rng: np.full(shape, gen.value),
    "kGaussian": _gaussian,
    "kUniform": _uniform,
    "kGaussianSqrtFanIn": lambda gen, shape, rng: _gaussian(gen, shape, rng) / math.sqrt(_fan_in(shape)),
    "kUniformSqrtFanIn": lambda gen, shape, rng: _uniform(gen, shape, rng) / math.sqrt(_fan_in(shape) / 3),
    "kUniformSqrtFanInOut": lambda gen, shape, rng: (_uniform(gen, shape, rng)
                                                     / math.sqrt(shape[0] + _fan_in(shape))),
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
    values = INIT_METHODS[method](gen, shape, make_rng(seed, name))
    return np.ascontiguousarray(values, dtype=np.float32)
