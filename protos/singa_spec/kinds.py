"""The pluggable kinds besides layers, by name: training algorithms, updaters, init methods, schedules.

A job names one of each kind either by its enum value (`type: kSGD`) or, for a user's, by `user_type`
(`user_alg` for algorithms), as SINGA v0.1 does. The runtime keeps the implementations; this module
keeps only the names, so that the compiler, which never imports the runtime, can refuse a `user_type`
that nothing registers. The runtime's register functions declare their names here, and a plugin that
the compiler loads without the runtime may declare its names directly.
"""
from __future__ import annotations

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

DECLARED: dict[str, set[str]] = {kind: set() for kind in KINDS}


def declare(kind: str, name: str) -> None:
    """Make `name` known as a `kind` ("algorithm", "updater", "init" or "schedule")."""
    if kind not in KINDS:
        raise SingaError(f"no pluggable kind {kind!r}; known: {', '.join(KINDS)}")
    if not name:
        raise SingaError(f"a {KINDS[kind].what} needs a non-empty name")
    DECLARED[kind].add(name)


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
                      " (a plugin registers its own)")
