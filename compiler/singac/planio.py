"""Read and write plan files; a corrupt, truncated or tampered plan is a one-line error."""
from __future__ import annotations

import os
from pathlib import Path

from google.protobuf.message import DecodeError
from singa_proto import plan_pb2

from .emit import FORMAT_VERSION, content_hash
from .errors import SingaError


def write_plan(plan: plan_pb2.PlanProto, path: str) -> None:
    """Write the plan atomically (temp file, fsync, rename), deterministically serialized."""
    data = plan.SerializeToString(deterministic=True)
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        _sync_folder(target.resolve().parent)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise SingaError(f"{path}: cannot write plan: {e.strerror or e}") from None


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_plan(path: str) -> plan_pb2.PlanProto:
    """Read a plan and check its format version and content hash."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise SingaError(f"{path}: cannot read plan: {e.strerror or e}") from None
    plan = plan_pb2.PlanProto()
    try:
        plan.ParseFromString(data)
    except DecodeError:
        raise SingaError(f"{path}: not a plan file (corrupt or truncated)") from None
    if not plan.content_hash or not plan.HasField("job"):
        raise SingaError(f"{path}: not a plan file (no job or content hash)")
    if not plan.HasField("format_version") or plan.format_version != FORMAT_VERSION:
        raise SingaError(f"{path}: plan format {plan.format_version!r}, this singac reads {FORMAT_VERSION!r}")
    if content_hash(plan) != plan.content_hash:
        raise SingaError(f"{path}: content hash mismatch: the plan is corrupt or was edited")
    return plan
