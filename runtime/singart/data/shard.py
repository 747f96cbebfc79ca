"""SINGA's DataShard: one file `<folder>/shard.dat` of `[u64 keylen][key][u64 vallen][value]` tuples.

Sizes are little-endian 8-byte integers (SINGA wrote `size_t`). Values are serialized `Record`s.
A writer opens with kCreate (a new shard, written to a temp file and renamed over `shard.dat` only by
`close()`, so a failed or killed writer leaves the previous shard intact) or kAppend (keep the complete
tuples, drop a partially written last one); a reader walks the tuples with `next()` and starts over
with `seek_to_first()`.
"""
from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from typing import BinaryIO, Self, cast

from google.protobuf.message import DecodeError, Message
from singa_proto import common_pb2
from singa_spec.files import TEMP_PREFIX, commit, remove_partial

SHARD_FILE = "shard.dat"
kRead, kCreate, kAppend = "kRead", "kCreate", "kAppend"
_SIZE = struct.Struct("<Q")
_BUFFER = 16 << 20  # SINGA used a 100 MB buffer; 16 MB reads as fast and costs less memory


class ShardError(ValueError):
    """A shard that cannot be read or written: one line naming the file (and the record index)."""


def shard_file(folder: str) -> str:
    """The data file of the shard in `folder`."""
    return os.path.join(folder, SHARD_FILE)


class DataShard:
    """A DataShard folder opened in one mode: kRead, kCreate or kAppend."""

    def __init__(self, folder: str, mode: str = kRead) -> None:
        if mode not in (kRead, kCreate, kAppend):
            raise ShardError(f"{folder}: unknown shard mode {mode!r}; use kRead, kCreate or kAppend")
        self.folder, self.mode, self.path = folder, mode, shard_file(folder)
        self._keys: set[bytes] = set()
        self._index = 0  # tuples read so far (reader) - named in errors
        self._tmp: str | None = None  # kCreate's temp file, renamed onto `path` by close()
        if mode == kRead:
            self._file = _open(self.path, "rb")
        else:
            os.makedirs(folder, exist_ok=True)
            self._file = self._open_writer(mode)

    def _open_writer(self, mode: str) -> BinaryIO:
        if mode == kCreate or not os.path.exists(self.path):
            return self._open_temp()
        # kAppend: keep every complete tuple, cut off a partially written last one
        good = 0
        with _open(self.path, "rb") as f:
            for key, _, end in _tuples(f, self.path, strict=False):
                self._keys.add(key)
                good = end
        f = _open(self.path, "r+b")
        f.truncate(good)
        f.seek(good)
        return f

    def _open_temp(self) -> BinaryIO:
        remove_partial(self.folder, SHARD_FILE)  # what earlier killed writers left behind
        try:
            fd, self._tmp = tempfile.mkstemp(dir=self.folder, prefix=f"{TEMP_PREFIX}{SHARD_FILE}.")
            os.fchmod(fd, 0o644)  # mkstemp makes it private; a shard is an ordinary file
        except OSError as err:
            raise ShardError(f"{self.path}: cannot create shard: {err.strerror}") from None
        return cast(BinaryIO, os.fdopen(fd, "wb", buffering=_BUFFER))

    # --- writing -------------------------------------------------------------------------------
    def insert(self, key: str | bytes, record: Message | bytes) -> bool:
        """Append one tuple; False (nothing written) for a duplicate key or an empty value."""
        self._require_writer("insert")
        kb = key.encode() if isinstance(key, str) else bytes(key)
        value = record if isinstance(record, bytes) else record.SerializeToString()
        if not value or kb in self._keys:
            return False
        self._keys.add(kb)
        self._file.write(_SIZE.pack(len(kb)) + kb + _SIZE.pack(len(value)) + value)
        return True

    def flush(self) -> None:
        """Push buffered tuples to the file."""
        self._require_writer("flush")
        self._file.flush()

    # --- reading -------------------------------------------------------------------------------
    def next(self) -> tuple[str, common_pb2.Record] | None:
        """The next (key, record), or None at the end of the shard."""
        raw = self.next_raw()
        if raw is None:
            return None
        key, value = raw
        return key.decode(errors="replace"), parse_record(value, self.path, self._index - 1)

    def next_raw(self) -> tuple[bytes, bytes] | None:
        """The next (key, serialized value), or None at the end of the shard."""
        self._require_reader("next")
        got = _read_tuple(self._file, self.path, self._index, strict=True)
        if got is not None:
            self._index += 1
        return got

    def seek_to_first(self) -> None:
        """Start reading from the first tuple again."""
        self._require_reader("seek_to_first")
        self._file.seek(0)
        self._index = 0

    def count(self) -> int:
        """The number of tuples in the shard (reads the whole file; keeps the read position)."""
        if self.mode != kRead:
            return len(self._keys)
        with _open(self.path, "rb") as f:
            return sum(1 for _ in _tuples(f, self.path, strict=True))

    def __iter__(self) -> Iterator[tuple[str, common_pb2.Record]]:
        self.seek_to_first()
        while (item := self.next()) is not None:
            yield item

    def close(self) -> None:
        """Close the file; a writer's tuples are flushed to disk and (kCreate) renamed into place."""
        if self._file.closed or self.mode == kRead:
            self._file.close()
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            if self._tmp is not None:
                commit(self._tmp, self.path)
                self._tmp = None
        except OSError as err:
            self.abort()
            raise ShardError(f"{self.path}: cannot write shard: {err.strerror or err}") from None

    def abort(self) -> None:
        """Close a writer without publishing: kCreate's new tuples are dropped, the old shard stays."""
        self._file.close()
        if self._tmp is not None and os.path.exists(self._tmp):
            os.unlink(self._tmp)
        self._tmp = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is not None and self.mode != kRead:
            self.abort()  # a failed conversion must not replace the previous good shard
        else:
            self.close()

    def _require_writer(self, what: str) -> None:
        if self.mode == kRead:
            raise ShardError(f"{self.path}: {what} on a shard opened for reading")

    def _require_reader(self, what: str) -> None:
        if self.mode != kRead:
            raise ShardError(f"{self.path}: {what} on a shard opened for writing")


def parse_record(value: bytes, path: str, index: int) -> common_pb2.Record:
    """Decode one serialized Record; a corrupt one is a ShardError naming the file and index."""
    record = common_pb2.Record()
    try:
        record.ParseFromString(value)
    except DecodeError as err:
        raise ShardError(f"{path}: record {index}: corrupt Record ({err})") from None
    return record


def _open(path: str, mode: str) -> BinaryIO:
    try:
        return cast(BinaryIO, open(path, mode, buffering=_BUFFER))
    except OSError as err:
        raise ShardError(f"{path}: cannot open shard: {err.strerror}") from None


def _tuples(f: BinaryIO, path: str, strict: bool) -> Iterator[tuple[bytes, bytes, int]]:
    """(key, value, end offset) of each complete tuple; a torn tail ends it (or raises if strict)."""
    index = 0
    while (got := _read_tuple(f, path, index, strict)) is not None:
        yield got[0], got[1], f.tell()
        index += 1


def _read_tuple(f: BinaryIO, path: str, index: int, strict: bool) -> tuple[bytes, bytes] | None:
    """One tuple at the file position; None at a clean end (or, not strict, at a torn tail)."""
    head = f.read(_SIZE.size)
    if not head:
        return None
    key = _read_sized(f, head, path, index, "key", strict)
    if key is None:
        return None
    value = _read_sized(f, f.read(_SIZE.size), path, index, "value", strict)
    if value is None:
        return None
    if not value:
        # an empty value can never be inserted, so it means the file is damaged
        _fail(path, index, "corrupt tuple (empty value)", strict)
        return None
    return key, value


def _read_sized(f: BinaryIO, head: bytes, path: str, index: int, what: str,
                strict: bool) -> bytes | None:
    if len(head) < _SIZE.size:
        _fail(path, index, f"truncated {what} length", strict)
        return None
    (size,) = _SIZE.unpack(head)
    left = os.fstat(f.fileno()).st_size - f.tell()
    if size > left:
        # checked before reading so a corrupt length never makes us allocate terabytes
        _fail(path, index, f"truncated {what} ({size} bytes announced, {max(left, 0)} left)", strict)
        return None
    return f.read(size)


def _fail(path: str, index: int, what: str, strict: bool) -> None:
    """Raise for a strict reader; a lenient one (kAppend recovery) stops at the torn tuple."""
    if strict:
        raise ShardError(f"{path}: record {index}: {what}")
