"""Param initialisation: the six ParamGenProto methods of SINGA v0.1 (param.cc), and users' own.

Values are drawn for the whole, unpartitioned param from a stream named by the job seed and the
param's name, so every process, partition and resumed run draws the same numbers. They are drawn in
float32 and scaled in place (a param needs its own size to start, no more), from numpy's PCG64 bits and
its float32 conversions, which are the same on every platform. The methods are a registry by name
(`register_init`); the built-ins are registered there as a plugin's are.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from singa_proto import job_pb2
from singa_spec import SingaError

from ..registry import Registry
from .seeds import make_rng

Shape = tuple[int, ...]
InitMethod = Callable[[job_pb2.ParamGenProto, Shape, np.random.Generator], np.ndarray]


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


INIT_METHODS: Registry[InitMethod] = Registry("init")


def register_init(name: str, method: InitMethod) -> InitMethod:
    """Make `method(gen, shape, rng)` the init method `name`: `init { user_type: "name" }` in a job picks
    it. It returns the float32 values of the whole param of `shape`, drawn from `rng` (the param's own
    stream) as `gen` (the ParamGenProto, extensions included) says."""
    return INIT_METHODS.register(name, method)


register_init("kConstant", lambda gen, shape, rng: np.full(shape, gen.value, dtype=np.float32))
register_init("kGaussian", _gaussian)
register_init("kUniform", _uniform)
register_init("kGaussianSqrtFanIn", lambda gen, shape, rng: _gaussian(gen, shape, rng,
                                                                      1 / math.sqrt(_fan_in(shape))))
register_init("kUniformSqrtFanIn", lambda gen, shape, rng: _uniform(gen, shape, rng,
                                                                    1 / math.sqrt(_fan_in(shape) / 3)))
register_init("kUniformSqrtFanInOut", lambda gen, shape, rng: _uniform(
    gen, shape, rng, 1 / math.sqrt(shape[0] + _fan_in(shape))))
FAN_METHODS = ("kGaussianSqrtFanIn", "kUniformSqrtFanIn", "kUniformSqrtFanInOut")


def init_param(gen: job_pb2.ParamGenProto, shape: tuple[int, ...] | list[int], seed: int,
               name: str) -> np.ndarray:
    """The initial float32 value of the whole param `name` of `shape`, drawn as `gen` says."""
    shape = tuple(int(s) for s in shape)
    try:
        method, draw, gen = INIT_METHODS.pick(gen)
    except SingaError as err:
        raise SingaError(f"param {name!r}: {err}") from None
    if method in FAN_METHODS and (len(shape) < 2 or _fan_in(shape) == 0):
        raise ValueError(f"param {name!r}: init type {method} needs a param of 2 or more "
                         f"dimensions, got shape {list(shape)}")
    values = draw(gen, shape, make_rng(seed, name))
    if not isinstance(values, np.ndarray) or tuple(values.shape) != shape:
        got = list(values.shape) if isinstance(values, np.ndarray) else type(values).__name__
        raise SingaError(f"param {name!r}: init method {method} returned {got}, not an array of shape "
                         f"{list(shape)}")
    return values
