"""Plan files: the format version, the content hash every process checks, reading and writing.

Both the compiler (which writes plans and reads them back for `show` and `viz`) and the runtime (which
runs them) read plans here, so a corrupt, truncated, tampered or foreign plan gets the same one-line
error from either.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from google.protobuf.message import DecodeError
from singa_proto import plan_pb2

from .errors import SingaError
from .files import write_atomic
from .plugins import load_recorded

# The plan format of this build: plan.proto declares it as the default of `format_version`.
FORMAT_VERSION = plan_pb2.PlanProto.DESCRIPTOR.fields_by_name["format_version"].default_value


def content_hash(plan: plan_pb2.PlanProto) -> str:
    """SHA-256 of the plan serialized deterministically with `content_hash` cleared."""
    bare = plan_pb2.PlanProto()
    bare.CopyFrom(plan)
    bare.ClearField("content_hash")
    return hashlib.sha256(bare.SerializeToString(deterministic=True)).hexdigest()


def seal(plan: plan_pb2.PlanProto) -> plan_pb2.PlanProto:
    """Set the plan's content hash (in place) and return it."""
    plan.content_hash = content_hash(plan)
    return plan


def write_plan(plan: plan_pb2.PlanProto, path: str | Path) -> None:
    """Write the plan as it is (sealed by whoever made it), atomically: a crash leaves the old plan or
    the whole new one."""
    try:
        write_atomic(path, plan.SerializeToString(deterministic=True))
    except OSError as err:
        raise SingaError(f"{path}: cannot write plan: {err.strerror or err}") from None


def read_plan(path: str | Path) -> plan_pb2.PlanProto:
    """Read a plan file and check its format version and hash; any defect is a one-line SingaError
    naming the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise SingaError(f"{path}: cannot read plan: {err.strerror or err}") from None
    plan = _parse(data, path)
    if not plan.content_hash or not plan.HasField("job"):
        raise SingaError(f"{path}: not a plan file (no job or content hash); compile one with singac")
    if not plan.HasField("format_version") or plan.format_version != FORMAT_VERSION:
        got = repr(plan.format_version) if plan.HasField("format_version") else "unset"
        raise SingaError(f"{path}: plan format version {got}, this build reads {FORMAT_VERSION!r}; "
                         "recompile the job with a matching singac")
    if plan.plugins:  # their extensions of the job's messages parse only once they are loaded
        load_recorded(plan, str(path))
        plan = _parse(data, path)
    if content_hash(plan) != plan.content_hash:
        raise SingaError(f"{path}: content hash mismatch; the plan was modified or truncated, recompile it")
    return plan


def _parse(data: bytes, path: str | Path) -> plan_pb2.PlanProto:
    """The plan in `data`, as far as the loaded modules know its messages."""
    plan = plan_pb2.PlanProto()
    try:
        plan.ParseFromString(data)
    except DecodeError:
        raise SingaError(f"{path}: not a plan file (truncated or corrupt)") from None
    return plan
