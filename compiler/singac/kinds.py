"""The job's algorithm, updater, schedule and init methods must name kinds something registers: a
`user_type` no loaded plugin declares (singa_spec.kinds) is refused here, listing the declared ones,
rather than when the runtime starts."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from singa_proto import job_pb2
from singa_spec import SingaError
from singa_spec.kinds import KINDS, declared, is_user, kind_name

from .source import Source
from .textmap import Key
from .values import field_error


def check_kinds(job: job_pb2.JobProto, src: Source) -> None:
    """Raise a located SingaError for the first user kind that is not declared (or badly named)."""
    for kind, key, conf in _uses(job):
        if not is_user(kind, conf):
            continue  # a built-in enum value: the parser has checked it
        k = KINDS[kind]
        field = k.user_field if getattr(conf, k.user_field) else k.type_field
        try:
            name = kind_name(kind, conf)
        except SingaError as err:
            raise field_error(job, src, (*key, (field, 0)), f"is refused: {err}") from None
        if name not in declared(kind):
            have = ", ".join(declared(kind)) or "(none)"
            raise field_error(job, src, (*key, (field, 0)), f"names {k.what} {name!r}, which no loaded "
                              f"plugin registers; registered: {have}")


def _uses(job: job_pb2.JobProto) -> Iterator[tuple[str, Key, Any]]:
    """(kind, key of its conf, conf) for every kind the job names."""
    yield "algorithm", (("train_one_batch", 0),), job.train_one_batch
    yield "updater", (("updater", 0),), job.updater
    yield "schedule", (("updater", 0), ("learning_rate", 0)), job.updater.learning_rate
    for li, layer in enumerate(job.neuralnet.layer):
        for pi, param in enumerate(layer.param):
            yield "init", (("neuralnet", 0), ("layer", li), ("param", pi), ("init", 0)), param.init
