"""Value rules of the job's numeric fields, checked before any graph is built: a count must be
positive, a rate finite and in its range. A value the rules refuse would crash a pass, hang the
compiler or train nothing useful; the error names the file, the line and the field."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from google.protobuf.descriptor import FieldDescriptor as FD
from google.protobuf.message import Message
from singa_proto import job_pb2
from singa_spec.schedules import LR_DIVISORS

from .errors import SingaError, at
from .source import Source
from .textmap import Key, line_at, scan

Rule = tuple[Callable[[float], bool], str]  # (test, what a value must be)
# The numeric field types (not enums or bools), repeated ones too: a record's `shape`, kFixedStep's steps.
_NUMBERS = frozenset({FD.CPPTYPE_INT32, FD.CPPTYPE_INT64, FD.CPPTYPE_UINT32, FD.CPPTYPE_UINT64,
                      FD.CPPTYPE_FLOAT, FD.CPPTYPE_DOUBLE})

POSITIVE: Rule = (lambda x: x > 0, "positive")
NON_NEGATIVE: Rule = (lambda x: x >= 0, ">= 0")
FINITE: Rule = (math.isfinite, "a finite number")
FINITE_POSITIVE: Rule = (lambda x: math.isfinite(x) and x > 0, "finite and positive")
FINITE_NON_NEGATIVE: Rule = (lambda x: math.isfinite(x) and x >= 0, "finite and >= 0")
FRACTION: Rule = (lambda x: 0 <= x < 1, "within [0, 1)")
NON_ZERO: Rule = (lambda x: math.isfinite(x) and x != 0, "finite and non-zero")
PORT: Rule = (lambda x: 0 < x < 65536, "a port number (1..65535)")

# Every worker and server is a thread of some process, listed one by one in the plan's rank -> role
# table; far beyond any real cluster, a typo such as 2147483647 would make the compiler list billions.
MAX_EXECUTORS = 2**16

_STEPS = ("disp_freq", "test_freq", "test_steps", "validate_freq", "validate_steps", "checkpoint_freq",
          "warmup_steps", "checkpoint_after", "disp_after", "test_after", "validate_after", "step")
_COUNTS = ("nworker_groups", "nserver_groups", "nworkers_per_group", "nservers_per_group",
           "nworkers_per_procs", "nservers_per_procs")

# message type -> field -> rule; fields not listed take any value their type holds.
RULES: dict[str, dict[str, Rule]] = {
    "JobProto": {**dict.fromkeys(_STEPS, NON_NEGATIVE), "train_steps": POSITIVE,
                 "num_openblas_threads": POSITIVE, "checkpoint_keep": NON_NEGATIVE},
    "ClusterProto": {**dict.fromkeys(_COUNTS, POSITIVE), "nprocs": POSITIVE, "start_port": PORT,
                     **dict.fromkeys(("sync_freq", "poll_time", "stub_timeout", "worker_timeout",
                                      "server_timeout"), POSITIVE)},
    "LayerProto": {"unroll_len": POSITIVE},
    "ConvolutionProto": {"pad": NON_NEGATIVE},
    "ConcateProto": {"concate_dim": NON_NEGATIVE},
    "DataProto": {"random_skip": NON_NEGATIVE, "shape": POSITIVE},
    "DropoutProto": {"dropout_ratio": FRACTION},
    "LRNProto": {"local_size": POSITIVE, "alpha": FINITE, "beta": FINITE, "knorm": FINITE_POSITIVE},
    "MnistProto": {"norm_a": NON_ZERO, "norm_b": FINITE, "sigma": FINITE, "alpha": FINITE,
                   "beta": FINITE, "gamma": FINITE, "kernel": NON_NEGATIVE, "resize": NON_NEGATIVE,
                   "elastic_freq": NON_NEGATIVE},
    "PoolingProto": {"pad": NON_NEGATIVE},
    "ReLUProto": {"negative_slope": FINITE},
    "RGBImageProto": {"scale": FINITE, "cropsize": NON_NEGATIVE},
    "SoftmaxLossProto": {"scale": FINITE_POSITIVE},
    "ParamGenProto": {"value": FINITE, "mean": FINITE, "std": FINITE_NON_NEGATIVE, "low": FINITE,
                      "high": FINITE},
    "ParamProto": {"lr_scale": FINITE_NON_NEGATIVE, "wd_scale": FINITE_NON_NEGATIVE},
    "CDProto": {"cd_k": POSITIVE},
    "RMSPropProto": {"rho": FRACTION},
    "AdamProto": {"beta1": FRACTION, "beta2": FRACTION},
    "UpdaterProto": {"momentum": FRACTION, "weight_decay": FINITE_NON_NEGATIVE, "delta": FINITE_POSITIVE,
                     "clip_norm": FINITE_NON_NEGATIVE},
    "LRGenProto": {"base_lr": FINITE_NON_NEGATIVE},
    "FixedStepProto": {"step": NON_NEGATIVE, "step_lr": FINITE_NON_NEGATIVE},
    "StepProto": {"gamma": FINITE_POSITIVE},
    "LinearProto": {"final_lr": FINITE_NON_NEGATIVE},
    "InverseTProto": {"final_lr": FINITE},
    "InverseProto": {"gamma": FINITE_NON_NEGATIVE, "pow": FINITE},
}

# The init methods that draw from [low, high) (the others ignore both fields).
UNIFORM_INITS = (job_pb2.kUniform, job_pb2.kUniformSqrtFanIn, job_pb2.kUniformSqrtFanInOut)


def check_values(job: job_pb2.JobProto, src: Source) -> None:
    """Raise a located SingaError for the first numeric field whose value its rule refuses."""
    for key, msg, name, value in _fields(job, ()):
        test, what = RULES.get(msg.DESCRIPTOR.name, {}).get(name, (None, ""))
        if test is not None and not test(value):
            raise field_error(job, src, key, f"must be {what}, got {_text(value)}")
    _check_inits(job, src)
    _check_lr(job, src)
    _check_executors(job, src)


def _fields(msg: Message, key: Key) -> Iterator[tuple[Key, Message, str, Any]]:
    """(key, message, field, value) of every numeric field set in the job, at any depth."""
    for f in msg.DESCRIPTOR.fields:
        if f.message_type is not None:
            subs = getattr(msg, f.name) if f.is_repeated else (
                [getattr(msg, f.name)] if msg.HasField(f.name) else [])
            for i, sub in enumerate(subs):
                yield from _fields(sub, (*key, (f.name, i)))
        elif f.cpp_type in _NUMBERS:
            values = getattr(msg, f.name) if f.is_repeated else (
                [getattr(msg, f.name)] if msg.HasField(f.name) else [])  # every listed default passes
            for i, value in enumerate(values):
                yield (*key, (f.name, i)), msg, f.name, value


def _check_inits(job: job_pb2.JobProto, src: Source) -> None:
    for li, layer in enumerate(job.neuralnet.layer):
        for pi, param in enumerate(layer.param):
            init = param.init
            if init.type in UNIFORM_INITS and init.low > init.high:
                key = (("neuralnet", 0), ("layer", li), ("param", pi), ("init", 0), ("low", 0))
                raise field_error(job, src, key, f"({_text(init.low)}) is above `high` "
                             f"({_text(init.high)})")


def _check_lr(job: job_pb2.JobProto, src: Source) -> None:
    lr = job.updater.learning_rate
    method = job_pb2.ChangeMethod.Name(lr.type)
    if method in LR_DIVISORS:
        conf, name = LR_DIVISORS[method]
        value = getattr(getattr(lr, conf), name)
        if not value > 0:
            key: Key = (("updater", 0), ("learning_rate", 0), (conf, 0), (name, 0))
            raise field_error(job, src, key, f"must be positive for {method} (the schedule divides by "
                         f"it), got {_text(value)}")
    steps = lr.fixedstep_conf
    if method == "kFixedStep" and (not steps.step_lr or len(steps.step) != len(steps.step_lr)):
        key = (("updater", 0), ("learning_rate", 0), ("fixedstep_conf", 0))
        raise field_error(job, src, key, f"kFixedStep needs one step_lr per step, got {len(steps.step)} "
                     f"step and {len(steps.step_lr)} step_lr")


def _check_executors(job: job_pb2.JobProto, src: Source) -> None:
    c = job.cluster
    for what, groups, per_group in (("worker", "nworker_groups", "nworkers_per_group"),
                                    ("server", "nserver_groups", "nservers_per_group")):
        total = getattr(c, groups) * getattr(c, per_group)
        if total > MAX_EXECUTORS:
            field = per_group if getattr(c, per_group) > getattr(c, groups) else groups
            raise field_error(job, src, (("cluster", 0), (field, 0)),
                         f"{groups} x {per_group} = {total} {what}s, more than the {MAX_EXECUTORS} a "
                         "plan may hold")


def field_error(job: job_pb2.JobProto, src: Source, key: Key, what: str) -> SingaError:
    """'FILE:LINE: layer 'x': `conf.field` what', naming the layer when the field is in one (the text
    is scanned for lines only here, when there is an error to locate)."""
    names = [name for name, _ in key]
    prefix = ""
    if names[:2] == ["neuralnet", "layer"]:
        prefix = f"layer '{job.neuralnet.layer[key[1][1]].name}': "
        names = names[2:]
    return at(src.path, line_at(scan(src.text), key), f"{prefix}`{'.'.join(names)}` {what}")


def _text(value: float) -> str:
    return repr(value) if isinstance(value, int) else f"{value:g}"
