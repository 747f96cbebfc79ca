"""A frame on the wire: a 4-byte little-endian header length, a protobuf header, padding to 16 bytes,
then the raw bytes of the tensor the header's `tensor` field describes (nothing when it has none).

The receiver's array is `np.frombuffer` over the received bytes, so nothing is copied on receive (the
array is read-only, as the bytes are); the sender copies once, into the frame. Only plain numeric
dtypes travel, always little-endian: a peer's bytes are never unpickled or read as objects."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from google.protobuf.message import DecodeError, Message
from singa_spec.errors import SingaError

from . import shm

DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                    "float16", "float32", "float64", "complex64", "complex128"})
ALIGN = 16  # the payload starts 16-byte aligned, as CPython's bytes data does, so float64 loads align
LENGTH = struct.Struct("<I")
M = TypeVar("M", bound=Message)


@dataclass
class Framed:
    """A header message and the tensor its `tensor` field describes (None for a header-only message)."""

    header: Message
    tensor: np.ndarray | None = None


def wire_array(array: np.ndarray) -> np.ndarray:
    """The C-contiguous little-endian array whose bytes go on the wire (the array itself when it is one)."""
    if array.dtype.name not in DTYPES:
        raise SingaError(f"a tensor of dtype {array.dtype} cannot be sent: only {', '.join(sorted(DTYPES))}")
    if array.dtype.byteorder == ">":  # converted, not refused: the values are what the sender meant
        array = array.astype(array.dtype.newbyteorder("<"))
    return array if array.flags.c_contiguous else array.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)


def describe(meta: Message, array: np.ndarray) -> None:
    """Fill a TensorMeta with the array's dtype and shape."""
    meta.dtype = array.dtype.name
    del meta.shape[:]
    meta.shape.extend(array.shape)


def padding(header_length: int) -> bytes:
    return b"\0" * (-(LENGTH.size + header_length) % ALIGN)


def encode(framed: Framed, into: Message | None = None) -> bytes:
    """The frame of a message; with `into` (a peer's SharedMemory) the tensor is written there instead."""
    header, tensor = framed.header, framed.tensor
    if tensor is None:
        body = header.SerializeToString()
        return b"".join((LENGTH.pack(len(body)), body))
    array = wire_array(tensor)
    describe(header.tensor, array)  # type: ignore[attr-defined]
    if into is not None and 0 < array.nbytes <= into.size:  # type: ignore[attr-defined]
        shm.write_peer(into, array)
        header.tensor.shm.CopyFrom(into)  # type: ignore[attr-defined]
        return encode(Framed(header))
    body = header.SerializeToString()
    flat = array.reshape(-1).view(np.uint8)
    return b"".join((LENGTH.pack(len(body)), body, padding(len(body)), flat.data))


def decode(data: bytes, header_type: type[M]) -> tuple[M, np.ndarray | None]:
    """The header and the tensor of a frame; the tensor is a view of `data` or of shared memory."""
    if len(data) < LENGTH.size:
        raise SingaError(f"a {header_type.__name__} frame of {len(data)} bytes is too short")
    (length,) = LENGTH.unpack_from(data)
    start = LENGTH.size + length
    header = header_type()
    try:
        header.ParseFromString(memoryview(data)[LENGTH.size:start])
    except DecodeError as err:
        raise SingaError(f"a {header_type.__name__} header does not parse: {err}") from None
    if "tensor" not in header.DESCRIPTOR.fields_by_name or not header.HasField("tensor"):
        return header, None
    meta = header.tensor  # type: ignore[attr-defined]
    dtype, shape = wire_dtype(meta.dtype), tuple(meta.shape)
    if meta.HasField("shm"):
        return header, shm.map_peer(meta.shm, dtype, shape)
    return header, from_bytes(data, start + len(padding(length)), dtype, shape)


def wire_dtype(name: str) -> np.dtype:
    """The little-endian dtype a header names; anything but a plain numeric type is refused."""
    if name not in DTYPES:
        raise SingaError(f"a tensor header names dtype {name!r}: only {', '.join(sorted(DTYPES))} travel")
    native = np.dtype(name)
    # the native dtype object itself when it is little-endian already: the kernels' bindings accept
    # float32 by identity, and an equal but distinct dtype object is refused there
    return native if native.newbyteorder("<") == native else native.newbyteorder("<")


def from_bytes(data: bytes, offset: int, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """The array over data[offset:], refused unless its length is exactly the header's shape."""
    if any(n < 0 for n in shape):
        raise SingaError(f"a tensor header names a negative dimension in shape {list(shape)}")
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - offset != expected:
        raise SingaError(f"a tensor of shape {list(shape)} {dtype.name} needs {expected} bytes, "
                         f"the frame holds {len(data) - offset}")
    return np.frombuffer(data, dtype, count=expected // dtype.itemsize, offset=offset).reshape(shape)
