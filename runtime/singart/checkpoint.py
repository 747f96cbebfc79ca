"""Checkpoints: `<workspace>/checkpoint/step<N>-worker<W>`, a BlobProtos of params by name.

Files are written atomically (a temp file in the same folder, fsync, rename), so a crash leaves either
the previous file or the new one, never a partial one. A step is several files (one per worker, then
the updater's history), so a manifest `step<N>-done` naming them is written last: a step without it is
incomplete and `latest` passes over it. Loading matches params by name; later files win.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from google.protobuf.message import DecodeError
from singa_proto import common_pb2, plan_pb2
from singa_spec.files import remove_partial, sync_folder, write_atomic

from . import SingaError
from .params.updaters import Updater
from .store import ParamStore

FILE_NAME = re.compile(r"^step(\d+)-worker(\d+)$")
UPDATER_SUFFIX = "updater"  # step<N>-updater: the updater's history, so a resumed run continues exactly
DONE_NAME = re.compile(r"^step(\d+)-done$")  # step<N>-done: the manifest of a complete step


def file_name(step: int, worker: int) -> str:
    """The checkpoint file name SINGA uses."""
    return f"step{step}-worker{worker}"


def encode(values: dict[str, np.ndarray], versions: dict[str, int]) -> bytes:
    """Params as a serialized BlobProtos."""
    blobs = common_pb2.BlobProtos()
    for name, value in values.items():
        blobs.name.append(name)
        blobs.version.append(int(versions.get(name, 0)))
        blobs.blob.append(to_blob(value))
    return blobs.SerializeToString()


def to_blob(value: np.ndarray) -> common_pb2.BlobProto:
    """A BlobProto of an array; the floats go in as one packed field (extending them one by one is slow)."""
    blob = common_pb2.BlobProto(shape=[int(d) for d in value.shape])
    raw = np.ascontiguousarray(value, dtype="<f4").tobytes()
    blob.MergeFromString(b"\x12" + varint(len(raw)) + raw)  # field 2 (data), length-delimited
    return blob


def varint(n: int) -> bytes:
    """Protobuf's base-128 varint encoding of a non-negative integer."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def save(folder: Path, step: int, worker: int, values: dict[str, np.ndarray],
         versions: dict[str, int]) -> Path:
    """Write one worker's checkpoint file for `step`; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(step, worker)
    try:
        write_atomic(path, encode(values, versions))
    except OSError as err:
        raise SingaError(f"{path}: cannot write checkpoint: {err.strerror or err}") from None
    return path


def read(path: str | Path) -> dict[str, tuple[np.ndarray, int]]:
    """A checkpoint file's params: {name: (values, version)}."""
    try:
        data = Path(path).read_bytes()
        blobs = common_pb2.BlobProtos()
        blobs.ParseFromString(data)
    except OSError as err:
        raise SingaError(f"{path}: cannot read checkpoint: {err.strerror or err}") from None
    except DecodeError:
        raise SingaError(f"{path}: not a checkpoint file (corrupt or truncated)") from None
    if not (len(blobs.name) == len(blobs.blob) and len(blobs.version) in (0, len(blobs.name))):
        raise SingaError(f"{path}: not a checkpoint file (names and blobs do not pair up)")
    versions = list(blobs.version) or [0] * len(blobs.name)
    out = {}
    for name, version, blob in zip(blobs.name, versions, blobs.blob):
        shape = tuple(int(d) for d in blob.shape)
        arr = np.asarray(blob.data, dtype=np.float32)
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise SingaError(f"{path}: param {name}: {arr.size} values for shape {list(shape)}")
        out[name] = (arr.reshape(shape), int(version))
    return out


def load_into(paths: Iterable[str | Path], values: dict[str, np.ndarray],
              versions: dict[str, int]) -> set[str]:
    """Overwrite params by name from checkpoint files in order (later files win); returns the names set."""
    loaded: set[str] = set()
    for path in paths:
        for name, (arr, version) in read(path).items():
            if name not in values:
                continue  # another job's param this net does not have
            if arr.shape != values[name].shape:
                raise SingaError(f"{path}: param {name} has shape {list(arr.shape)}, "
                                 f"the net expects {list(values[name].shape)}")
            np.copyto(values[name], arr)
            versions[name] = version
            loaded.add(name)
    return loaded


def done_path(folder: Path, step: int) -> Path:
    """The manifest that marks `step` complete."""
    return folder / f"step{step}-done"


def mark_done(folder: Path, step: int, files: Iterable[Path]) -> Path:
    """Write `step`'s manifest naming its files; written last, it makes the step visible to `latest`."""
    path = done_path(folder, step)
    try:
        write_atomic(path, "".join(f"{p.name}\n" for p in files).encode())
    except OSError as err:
        raise SingaError(f"{path}: cannot write checkpoint: {err.strerror or err}") from None
    return path


def step_files(manifest: Path, step: int) -> list[Path] | None:
    """The files `manifest` names, workers in order then the updater's history; None unless every one
    exists and belongs to `step` (a damaged manifest or a missing file: the step is incomplete)."""
    try:
        names = manifest.read_text().split()
    except (OSError, UnicodeDecodeError):
        return None
    workers = {n: int(m.group(2)) for n in names if (m := FILE_NAME.match(n)) and int(m.group(1)) == step}
    history = [n for n in names if n == f"step{step}-{UPDATER_SUFFIX}"]
    files = [manifest.parent / n for n in [*sorted(workers, key=workers.__getitem__), *history]]
    if not workers or len(files) != len(names) or not all(p.is_file() for p in files):
        return None
    return files


def latest(folder: Path) -> tuple[int, list[Path]] | None:
    """The newest complete step in `folder` and its files (None when there is none)."""
    done = {int(m.group(1)): p for p in (folder.iterdir() if folder.is_dir() else ())
            if (m := DONE_NAME.match(p.name))}
    for step in sorted(done, reverse=True):
        files = step_files(done[step], step)
        if files is not None:
            return step, files
    return None


def newest_written(folder: Path) -> int | None:
    """The newest step with any worker file, complete or not."""
    steps = [int(m.group(1)) for p in (folder.iterdir() if folder.is_dir() else ())
             if (m := FILE_NAME.match(p.name))]
    return max(steps, default=None)


def param_workers(graph: plan_pb2.PhaseGraph | None, names: Iterable[str],
                  owner: Callable[[str], str]) -> dict[str, int]:
    """Which worker writes each owner param: the worker of the first node using it (else worker 0)."""
    where: dict[str, int] = {}
    for node in graph.nodes if graph is not None else ():
        for ref in node.params:
            where.setdefault(owner(ref.param), node.worker)
    return {name: where.get(name, 0) for name in names}


class Checkpoints:
    """Group 0's checkpoints in `<workspace>/checkpoint`: saving, resuming, warm-starting."""

    def __init__(self, folder: Path, store: ParamStore, updater: Updater,
                 train_graph: plan_pb2.PhaseGraph | None) -> None:
        self.folder, self.store, self.updater = folder, store, updater
        self.workers = param_workers(train_graph, store.values, store.owner)

    def save(self, step: int) -> None:
        """Write every worker's file for `step`, the updater's history, and last the step's manifest."""
        done = done_path(self.folder, step)
        if done.exists():  # a step saved before is rewritten: it is incomplete until the new manifest
            done.unlink()
            sync_folder(self.folder)
        files = []
        for w in sorted(set(self.workers.values())):
            names = [n for n, wk in self.workers.items() if wk == w]
            files.append(save(self.folder, step, w, {n: self.store.values[n] for n in names},
                              {n: self.store.versions[n] for n in names}))
        path = self.folder / f"step{step}-{UPDATER_SUFFIX}"
        try:
            write_atomic(path, encode(self.updater.state(), {}))
        except OSError as err:
            raise SingaError(f"{path}: cannot write checkpoint: {err.strerror or err}") from None
        mark_done(self.folder, step, [*files, path])

    def resume(self) -> int | None:
        """Load the newest complete step's files (and updater history); returns that step (None: none)."""
        remove_partial(self.folder)
        found = latest(self.folder)
        if found is None:
            return None
        step, paths = found
        workers = [p for p in paths if FILE_NAME.match(p.name)]
        load_into(workers, self.store.values, self.store.versions)
        for history in (p for p in paths if p not in workers):
            try:
                self.updater.load_state({k: v for k, (v, _) in read(history).items()})
            except ValueError as err:  # e.g. another updater type's history
                raise SingaError(f"{history}: {err}") from None
        return step

    def warm_start(self, paths: Iterable[str], step: int, reset_version: bool) -> None:
        """Load params by name from other jobs' files (later files win)."""
        loaded = load_into(paths, self.store.values, self.store.versions)
        if reset_version:
            for name in loaded:
                self.store.versions[name] = step
