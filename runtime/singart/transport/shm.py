"""Same-host payloads through shared memory: the sender writes the tensor into a memfd (an anonymous
file with no name in /dev/shm) and gRPC carries only its (pid, fd); the peer opens it through
/proc/PID/fd/FD and maps it. Nothing can leak: the kernel frees the memory once the sender's fd is closed
(by the sender, or by its death) and the peer's mapping is gone.

A segment may live for a whole run (one per param slice and direction): its pages are then allocated
and zeroed once, not on every call, and a reply the peer writes into it is read through this process's
own mapping of it (no /proc lookup, no fresh mapping whose pages fault in one by one)."""
from __future__ import annotations

import mmap
import os
import weakref

import numpy as np
from google.protobuf.message import Message
from singa_spec.errors import SingaError

PREFIX = "singa-tensor"  # a peer opens only memfds of this name, never another file a pid/fd names
OWN: weakref.WeakValueDictionary[int, Segment] = weakref.WeakValueDictionary()  # fd -> this process's segment


class Segment:
    """A memfd of this process that a peer may read or write during a call; close() once done with it
    (after one call, or at the end of a run)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.fd = os.memfd_create(PREFIX, os.MFD_CLOEXEC)
        os.ftruncate(self.fd, size)
        self._map: mmap.mmap | None = None
        OWN[self.fd] = self

    def ensure(self, size: int) -> None:
        """Grow the segment to hold at least `size` bytes (it never shrinks)."""
        if size > self.size:
            os.ftruncate(self.fd, size)
            self.size, self._map = size, None

    def write(self, array: np.ndarray) -> None:
        _write(self.fd, self.size, array)

    def view(self, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        """The segment's bytes as an array, through this process's own shared mapping (what a peer
        wrote into it, not a copy); valid until the segment grows or closes."""
        count = int(np.prod(shape, dtype=np.int64))
        if count * dtype.itemsize > self.size:
            raise SingaError(f"a tensor of shape {list(shape)} {dtype.name} does not fit its {self.size}-byte segment")
        if count == 0:
            return np.empty(shape, dtype)
        if self._map is None:
            self._map = mmap.mmap(self.fd, self.size, access=mmap.ACCESS_WRITE)
        return np.frombuffer(self._map, dtype, count).reshape(shape)

    def describe(self, msg: Message) -> None:
        """Fill a SharedMemory message with what a peer needs to open this segment."""
        msg.pid, msg.fd, msg.size = os.getpid(), self.fd, self.size  # type: ignore[attr-defined]

    def array(self, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        """The segment's bytes as an array (a private copy-on-write map that outlives close())."""
        return _mapped(self.fd, dtype, shape, self.size)

    def close(self) -> None:
        OWN.pop(self.fd, None)
        self._map = None  # unmapped once the last view of it is gone
        os.close(self.fd)


def _open(msg: Message, flags: int) -> int:
    """An fd of the peer's segment, refused unless it is a memfd of ours (a pid/fd may name any file)."""
    path = f"/proc/{msg.pid}/fd/{msg.fd}"  # type: ignore[attr-defined]
    try:
        target = os.readlink(path)
        fd = os.open(path, flags | os.O_CLOEXEC)
    except OSError as err:
        raise SingaError(f"the peer's shared memory {path} cannot be opened: {err.strerror}") from None
    if not target.startswith(f"/memfd:{PREFIX}"):
        os.close(fd)
        raise SingaError(f"{path} is {target}, not a tensor segment")
    return fd


def _mapped(fd: int, dtype: np.dtype, shape: tuple[int, ...], size: int) -> np.ndarray:
    count = int(np.prod(shape, dtype=np.int64))
    if count * dtype.itemsize > min(size, os.fstat(fd).st_size):
        raise SingaError(f"a tensor of shape {list(shape)} {dtype.name} does not fit its {size}-byte segment")
    if count == 0:
        return np.empty(shape, dtype)
    view = mmap.mmap(fd, count * dtype.itemsize, access=mmap.ACCESS_COPY)
    return np.frombuffer(view, dtype, count).reshape(shape)


def map_peer(msg: Message, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A peer's tensor, mapped copy-on-write: writes to the array stay in this process. A segment of
    this process's own (a reply written into it) is read through its own mapping instead."""
    own = OWN.get(msg.fd) if msg.pid == os.getpid() else None  # type: ignore[attr-defined]
    if own is not None and own.size >= msg.size:  # type: ignore[attr-defined]
        return own.view(dtype, shape)
    fd = _open(msg, os.O_RDONLY)
    try:
        return _mapped(fd, dtype, shape, msg.size)  # type: ignore[attr-defined]
    finally:
        os.close(fd)


def write_peer(msg: Message, array: np.ndarray) -> None:
    """Write a tensor into a peer's segment (a reply the peer asked to receive through shared memory)."""
    fd = _open(msg, os.O_RDWR)
    try:
        _write(fd, msg.size, array)  # type: ignore[attr-defined]
    finally:
        os.close(fd)


def _write(fd: int, size: int, array: np.ndarray) -> None:
    """Copy a C-contiguous array's bytes to the start of a segment (pwrite: twice as fast as faulting
    the fresh pages of a mapping in one by one)."""
    if array.nbytes > size:
        raise SingaError(f"a {array.nbytes}-byte tensor does not fit a {size}-byte segment")
    data, done = array.reshape(-1).view(np.uint8).data, 0
    while done < array.nbytes:
        done += os.pwrite(fd, data[done:], done)
