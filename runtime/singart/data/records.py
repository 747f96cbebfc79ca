"""Records as arrays: building image records, decoding a whole shard once, and batches of records.

A shard is decoded once per process into two arrays (images [N, *shape], labels [N]) and cached by
path, so every partition of a data layer, and every worker thread, shares one copy.
"""
from __future__ import annotations

import os
import struct
import threading
from dataclasses import dataclass

import numpy as np
from singa_proto import common_pb2

from .shard import ShardError, parse_record, shard_file

_SIZE = struct.Struct("<Q")


@dataclass(frozen=True)
class RecordBatch:
    """A mini-batch of image records: images [B, *record shape] (uint8 or float32), labels int32 [B]."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape)

    def rows(self, begin: int, end: int) -> RecordBatch:
        """Rows [begin, end) of this batch (views, no copy)."""
        return RecordBatch(self.images[begin:end], self.labels[begin:end])

    @staticmethod
    def concat(batches: list[RecordBatch]) -> RecordBatch:
        """The batches' rows one after another (the executor joins batch blocks with it)."""
        return RecordBatch(np.concatenate([b.images for b in batches]),
                           np.concatenate([b.labels for b in batches]))


@dataclass(frozen=True)
class ShardArrays:
    """A whole decoded shard: images [N, *shape] and labels int32 [N], in shard order."""

    path: str
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def record_shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape[1:])

    def take(self, start: int, count: int) -> RecordBatch:
        """`count` records from index `start`, wrapping around at the end of the shard."""
        n = len(self)
        start %= n
        if start + count <= n:
            return RecordBatch(self.images[start:start + count], self.labels[start:start + count])
        idx = (start + np.arange(count)) % n
        return RecordBatch(self.images[idx], self.labels[idx])


def image_record(shape: tuple[int, ...], label: int, pixel: bytes | None = None,
                 data: np.ndarray | None = None) -> common_pb2.Record:
    """A Record holding one SingleLabelImageRecord with uint8 `pixel` bytes or float `data`."""
    record = common_pb2.Record()
    image = record.image
    image.shape.extend(int(s) for s in shape)
    image.label = int(label)
    if pixel is not None:
        image.pixel = pixel
    if data is not None:
        image.data.extend(np.asarray(data, np.float32).ravel().tolist())
    return record


_CACHE: dict[str, ShardArrays] = {}
_CACHE_LOCK = threading.Lock()


def load_shard(folder: str) -> ShardArrays:
    """The shard in `folder` decoded into arrays; decoded once per process, then shared."""
    key = os.path.realpath(folder)
    with _CACHE_LOCK:  # one decode even when several worker threads ask at once
        if key not in _CACHE:
            _CACHE[key] = decode_shard(folder)
        return _CACHE[key]


def decode_shard(folder: str) -> ShardArrays:
    """Read every record of a shard into arrays; all records must share one shape and kind."""
    path = shard_file(folder)
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as err:
        raise ShardError(f"{path}: cannot open shard: {err.strerror}") from None
    values = _split_tuples(blob, path)
    if not values:
        raise ShardError(f"{path}: the shard holds no records")
    first = parse_record(values[0], path, 0).image
    shape = tuple(first.shape)
    floats = not first.pixel
    images = np.empty((len(values), *shape), np.float32 if floats else np.uint8)
    labels = np.empty(len(values), np.int32)
    flat = images.reshape(len(values), -1)
    for i, value in enumerate(values):
        image = parse_record(value, path, i).image
        _check_image(image, shape, floats, path, i)
        flat[i] = image.data if floats else np.frombuffer(image.pixel, np.uint8)
        labels[i] = image.label
    return ShardArrays(path, images, labels)


def _split_tuples(blob: bytes, path: str) -> list[bytes]:
    """The values of all tuples in a shard file's bytes."""
    values, pos, index, end = [], 0, 0, len(blob)
    view = memoryview(blob)
    while pos < end:
        if pos + 8 > end:
            raise ShardError(f"{path}: record {index}: truncated key length")
        (klen,) = _SIZE.unpack_from(blob, pos)
        pos += 8 + klen
        if pos + 8 > end:
            raise ShardError(f"{path}: record {index}: truncated key or value length")
        (vlen,) = _SIZE.unpack_from(blob, pos)
        pos += 8
        if vlen == 0 or pos + vlen > end:
            raise ShardError(f"{path}: record {index}: truncated or empty value")
        values.append(bytes(view[pos:pos + vlen]))
        pos += vlen
        index += 1
    return values


def _check_image(image: common_pb2.SingleLabelImageRecord, shape: tuple[int, ...], floats: bool,
                 path: str, index: int) -> None:
    """A record must have the first record's shape and as many values (of its kind) as that shape holds."""
    if not shape:
        raise ShardError(f"{path}: record 0: the image has no shape")
    if tuple(image.shape) != shape:
        raise ShardError(f"{path}: record {index}: image shape {list(image.shape)} differs from the "
                         f"first record's {list(shape)}")
    got, size = (len(image.data) if floats else len(image.pixel)), int(np.prod(shape))
    if got != size:
        kind = "float" if floats else "pixel"
        raise ShardError(f"{path}: record {index}: image of shape {list(shape)} holds {got} {kind} "
                         f"values, not {size}")


def read_mean_image(path: str) -> np.ndarray:
    """A mean image file: a SingleLabelImageRecord with float `data` (SINGA) or a Caffe binaryproto."""
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as err:
        raise ShardError(f"{path}: cannot open mean file: {err.strerror}") from None
    record = common_pb2.SingleLabelImageRecord()
    try:
        record.ParseFromString(blob)
    except Exception:  # noqa: BLE001 - any parse failure means "try the Caffe layout"
        record.Clear()
    if record.data and record.shape and int(np.prod(record.shape)) == len(record.data):
        return np.asarray(record.data, np.float32).reshape(tuple(record.shape))
    mean = _caffe_blob(blob)
    if mean is None:
        raise ShardError(f"{path}: not a mean image (neither a SingleLabelImageRecord with float "
                         "data nor a Caffe BlobProto)")
    return mean


def _caffe_blob(blob: bytes) -> np.ndarray | None:
    """Decode Caffe's BlobProto {num=1 channels=2 height=3 width=4 data=5}; None if it is not one."""
    dims, data, pos = {}, b"", 0
    try:
        while pos < len(blob):
            tag, pos = _varint(blob, pos)
            field, wire = tag >> 3, tag & 7
            if wire == 0:
                dims[field], pos = _varint(blob, pos)
            elif wire == 2:
                size, pos = _varint(blob, pos)
                data = blob[pos:pos + size] if field == 5 else data
                pos += size
            elif wire == 5:  # an unpacked float
                data += blob[pos:pos + 4] if field == 5 else b""
                pos += 4
            else:
                return None
    except IndexError:
        return None
    shape = tuple(dims.get(f, 1) for f in (2, 3, 4))
    values = np.frombuffer(data, "<f4")
    return values.reshape(shape).astype(np.float32) if values.size == np.prod(shape) > 0 else None


def _varint(blob: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = blob[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos
