"""Crash-safe file writes: a reader (or the next run) sees the old file or the whole new one, never a
torn one, even if the writer is killed or the machine loses power."""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

TEMP_PREFIX = ".partial-"  # what a killed writer leaves behind; `remove_partial` deletes it


def write_atomic(path: str | Path, data: bytes | Iterable[bytes | memoryview]) -> None:
    """Write `data` (bytes, or pieces of them written in turn) to `path` through a temp file in the same
    folder, fsync, rename, fsync the folder."""
    path = Path(path)
    # named before it exists (mkstemp names it only once made), so that an exception at any point, a
    # signal handler's included, finds the temp file to delete
    tmp = path.with_name(f"{TEMP_PREFIX}{path.name}.{secrets.token_hex(6)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(fd, 0o644)  # whatever the umask: these are ordinary files
            for piece in [data] if isinstance(data, bytes) else data:
                f.write(piece)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except FileExistsError:
        raise  # another writer's temp file of that name: not ours to delete
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def commit(tmp: str | Path, path: str | Path) -> None:
    """Move a fully written (and fsynced) temp file onto `path` and make the rename durable."""
    os.replace(tmp, path)
    sync_folder(Path(path).parent)


def sync_folder(folder: str | Path) -> None:
    """fsync a folder, so that renames and unlinks in it reach the disk."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_partial(folder: str | Path, name: str = "") -> None:
    """Delete the temp files a killed writer left in `folder` (of `name` only, when given)."""
    folder = Path(folder)
    if folder.is_dir():
        for p in folder.glob(TEMP_PREFIX + name + "*"):
            if not p.is_dir():  # write_atomic makes files only
                p.unlink(missing_ok=True)
