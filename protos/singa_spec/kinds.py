"""The pluggable kinds besides layers, by name: training algorithms, updaters, init methods, schedules.

A job names one of each kind either by its enum value (`type: kSGD`) or, for a user's, by `user_type`
(`user_alg` for algorithms), as SINGA v0.1 does. The runtime keeps the implementations; this module
keeps only the names, so that the compiler, which never imports the runtime, can refuse a `user_type`
that nothing registers. The runtime's register functions declare their names here, and a plugin that
the compiler loads without the runtime may declare its names directly.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from singa_proto import job_pb2

from .errors import SingaError


@dataclass(frozen=True)
class Kind:
    """Where a kind's name lives in its conf message."""

    what: str  # as messages say it: "updater"
    enum: Any  # the enum of the built-in names
    type_field: str  # the enum field: "type" ("alg" for AlgProto)
    user_field: str  # the user's name field: "user_type" ("user_alg")
    user_value: int  # the enum value that means "the user's": kUserUpdater


KINDS = {
    "algorithm": Kind("train_one_batch algorithm", job_pb2.AlgType, "alg", "user_alg", job_pb2.kUserAlg),
    "updater": Kind("updater", job_pb2.UpdaterType, "type", "user_type", job_pb2.kUserUpdater),
    "init": Kind("param init method", job_pb2.InitMethod, "type", "user_type", job_pb2.kUserInit),
    "schedule": Kind("learning-rate schedule", job_pb2.ChangeMethod, "type", "user_type",
                     job_pb2.kUserChange),
}
# enum aliases (the seed documents' spellings): Name() may report either; the registries use the first
ALIASES = {"kConst": "kConstant", "kUniformFanInOut": "kUniformSqrtFanInOut"}

# How a name registered elsewhere gets here: a script's own registrations stay in its process.
HOW_TO_PLUG = ("a plugin registers its own: put the registration in a plugin file and give it to "
               "singac compile with --plugin, and the plan loads it wherever it runs")
DECLARED: dict[str, set[str]] = {kind: set() for kind in KINDS}
# Whether an algorithm's train step runs a backward pass (gradients travel back over every edge), for
# the pictures, which cannot ask the runtime: the built-in ones here, a user's from its declaration.
BACKWARD: dict[str, bool] = {"kBP": True, "kBPTT": True, "kCD": False}


def declare(kind: str, name: str, *, backward: bool | None = None) -> None:
    """Make `name` known as a `kind` ("algorithm", "updater", "init" or "schedule"); an algorithm says
    whether its train step runs a backward pass (`backward`, default: as it was declared, else True)."""
    if kind not in KINDS:
        raise SingaError(f"no pluggable kind {kind!r}; known: {', '.join(KINDS)}")
    if not name:
        raise SingaError(f"a {KINDS[kind].what} needs a non-empty name")
    if backward is not None and kind != "algorithm":
        raise SingaError(f"{KINDS[kind].what} {name}: only an algorithm says whether it runs backward")
    DECLARED[kind].add(name)
    if kind == "algorithm":
        BACKWARD[name] = BACKWARD.get(name, True) if backward is None else backward


def runs_backward(conf: Any) -> bool:
    """Whether the algorithm an AlgProto names runs a backward pass; one nothing declares is a
    SingaError listing the declared ones."""
    name = kind_name("algorithm", conf)
    if name not in BACKWARD:
        raise unknown("algorithm", name, declared("algorithm"))
    return BACKWARD[name]


def declared(kind: str) -> list[str]:
    """The names of `kind` known in this process, sorted."""
    return sorted(DECLARED[kind])


def kind_name(kind: str, conf: Any) -> str:
    """The name a conf picks: its enum value's, or its `user_type` when it names the user's (the enum
    left unset, as the seed's `init { user_type: "FooParam" }`, or set to the kUser value). A conf that
    sets a built-in type and a user_type too, or the kUser value without a name, is a SingaError."""
    k = KINDS[kind]
    user = getattr(conf, k.user_field)
    value = getattr(conf, k.type_field)
    explicit = conf.HasField(k.type_field)
    if explicit and value != k.user_value:
        if user:
            raise SingaError(f"{k.what}: give either {k.type_field}: {k.enum.Name(value)} or "
                             f"{k.user_field}: \"{user}\", not both")
        name = k.enum.Name(value)
        return ALIASES.get(name, name)
    if user:
        return str(user)
    if explicit:
        raise SingaError(f"{k.what}: {k.type_field}: {k.enum.Name(value)} needs {k.user_field}, the "
                         f"name a plugin registers")
    name = k.enum.Name(value)
    return ALIASES.get(name, name)


def is_user(kind: str, conf: Any) -> bool:
    """Whether the conf names a user's kind (by `user_type`) rather than a built-in one."""
    k = KINDS[kind]
    return bool(getattr(conf, k.user_field)) or getattr(conf, k.type_field) == k.user_value


def unknown(kind: str, name: str, have: list[str]) -> SingaError:
    """The error for a name nothing registers, listing those that are."""
    return SingaError(f"no {KINDS[kind].what} {name!r} is registered; known: {', '.join(have) or '(none)'}"
                      f" ({HOW_TO_PLUG})")


def same_definition(a: Any, b: Any) -> bool:
    """Whether `b` is `a` defined again, as when a script or notebook cell that registers a kind runs a
    second time: the same object, a function or class of the same module and qualified name, or a
    dataclass (a LayerSpec) whose fields all are. Registering it again replaces it; anything else under
    a registered name is a clash."""
    if a is b:
        return True
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        return all(same_definition(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if callable(a) and callable(b):
        where = (getattr(a, "__module__", None), getattr(a, "__qualname__", None))
        return where[1] is not None and where == (getattr(b, "__module__", None), getattr(b, "__qualname__", None))
    return bool(a == b)
