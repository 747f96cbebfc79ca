"""Read the first record of a DataShard folder, to learn the record shape at compile time."""
from __future__ import annotations

import struct
from pathlib import Path

from google.protobuf.message import DecodeError
from singa_proto import common_pb2

from .errors import SingaError

_SIZE = struct.Struct("<Q")  # SINGA's DataShard writes size_t (8 bytes) before the key and the value


def first_record_shape(folder: str, layer: str) -> tuple[int, ...] | None:
    """The shape of the first record in `folder/shard.dat`, or None when the shard is absent."""
    path = Path(folder) / "shard.dat"
    if not path.exists():
        return None
    try:
        with path.open("rb") as f:
            value = _read_first_value(f, path)
    except OSError as e:
        raise SingaError(f"{path}: layer '{layer}': cannot read shard: {e.strerror or e}") from None
    record = common_pb2.Record()
    try:
        record.ParseFromString(value)
    except DecodeError:
        raise SingaError(f"{path}: layer '{layer}': record 0 is not a Record") from None
    image = record.image
    if image.shape:
        return tuple(image.shape)
    n = len(image.data) or len(image.pixel)
    return (n,) if n else None


def _read_first_value(f, path: Path) -> bytes:
    keylen = _read_size(f, path)
    f.seek(keylen, 1)
    vallen = _read_size(f, path)
    value = f.read(vallen)
    if len(value) != vallen:
        raise SingaError(f"{path}: record 0 is truncated")
    return value


def _read_size(f, path: Path) -> int:
    raw = f.read(_SIZE.size)
    if len(raw) != _SIZE.size:
        raise SingaError(f"{path}: record 0 is truncated (or the shard is empty)")
    (n,) = _SIZE.unpack(raw)
    if n > 1 << 31:
        raise SingaError(f"{path}: record 0 has an impossible size {n}: not a DataShard file")
    return n
