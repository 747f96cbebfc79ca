"""Checkpoints: `<workspace>/checkpoint/step<N>-worker<W>`, a BlobProtos of params by name.

Files are written atomically (a temp file in the same folder, fsync, rename), so a crash leaves either
the previous file or the new one, never a partial one. A step is several files (one per worker, then
the updater's history), so a manifest `step<N>-done` naming them with their SHA-256 is written last
(manifests.py): resume passes over a step without one, and over a step whose files do not match it.
After each save, the steps beyond the newest `keep` are removed. Loading matches params by name; later
files win.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
from google.protobuf.message import DecodeError
from singa_proto import common_pb2, plan_pb2
from singa_spec.files import write_atomic

from . import SingaError
from .manifests import (
    FILE_NAME,
    UPDATER_SUFFIX,
    Manifest,
    all_steps,
    complete_steps,
    done_path,
    mark_done,
    newest_written,
    prune,
    remove_steps,
    sha256_of,
)
from .store import ParamStore

Contents = dict[str, tuple[np.ndarray, int]]  # a checkpoint file's params: {name: (values, version)}


class History(Protocol):
    """The updater's history as a checkpoint holds it: an Updater's, or the servers' of a multi-process
    run (distributed/history.py)."""

    def state(self) -> dict[str, np.ndarray]: ...

    def load_state(self, state: dict[str, np.ndarray]) -> None: ...


class DamagedStep(Exception):
    """A complete step whose file does not match its checksum or does not decode: resume passes over it."""


MASK64 = (1 << 64) - 1  # protobuf writes a negative int32 as its 64-bit two's complement
# server group g >= 1's history in the updater file: `group<g>/<param>/<slot>`; group 0's keeps the
# one-process names, so one-process runs (which keep one history) read the file as theirs
GROUP_KEY = re.compile(r"^group(\d+)/(.+/[^/]+)$")


def group_key(group: int, key: str) -> str:
    """The updater file's name of server group `group`'s history entry `key` (`<param>/<slot>`)."""
    return key if group == 0 else f"group{group}/{key}"


def by_group(state: dict[str, np.ndarray]) -> dict[int, dict[str, np.ndarray]]:
    """An updater file's history split by server group: {group: {'<param>/<slot>': array}}."""
    out: dict[int, dict[str, np.ndarray]] = {}
    for key, arr in state.items():
        found = GROUP_KEY.match(key)
        group, own = (int(found.group(1)), found.group(2)) if found else (0, key)
        out.setdefault(group, {})[own] = arr
    return out


def file_name(step: int, worker: int) -> str:
    """The checkpoint file name SINGA uses."""
    return f"step{step}-worker{worker}"


def encode(values: dict[str, np.ndarray], versions: dict[str, int]) -> bytes:
    """Params as a serialized BlobProtos."""
    return b"".join(encode_parts(values, versions))


def encode_parts(values: dict[str, np.ndarray], versions: dict[str, int]) -> Iterator[bytes | memoryview]:
    """A serialized BlobProtos in pieces, the params' floats as views of the arrays themselves: a file is
    written without a copy of the params (building the message whole held four). The bytes are those
    protobuf's serializer writes: fields in number order (version 3, name 4, blob 5)."""
    yield b"".join(b"\x18" + varint(int(versions.get(n, 0)) & MASK64) for n in values)
    yield b"".join(b"\x22" + varint(len(raw := n.encode())) + raw for n in values)
    for value in values.values():
        data = np.ascontiguousarray(value, dtype="<f4").reshape(-1).view(np.uint8)
        shape = b"".join(b"\x08" + varint(int(d) & MASK64) for d in value.shape)
        floats = b"\x12" + varint(data.nbytes) if data.nbytes else b""  # packed field 2, left out when empty
        yield b"\x2a" + varint(len(shape) + len(floats) + data.nbytes) + shape + floats
        yield data.data


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
        write_atomic(path, encode_parts(values, versions))
    except OSError as err:
        raise SingaError(f"{path}: cannot write checkpoint: {err.strerror or err}") from None
    return path


def read(path: str | Path) -> Contents:
    """A checkpoint file's params: {name: (values, version)}."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise SingaError(f"{path}: cannot read checkpoint: {err.strerror or err}") from None
    return decode(path, data)


def decode(path: str | Path, data: bytes) -> Contents:
    """The params of a checkpoint file's bytes; `path` names it in errors."""
    blobs = common_pb2.BlobProtos()
    try:
        blobs.ParseFromString(data)
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
        loaded |= load_contents(path, read(path), values, versions)
    return loaded


def load_contents(path: str | Path, contents: Contents, values: dict[str, np.ndarray],
                  versions: dict[str, int]) -> set[str]:
    """Overwrite params by name from one file's contents; returns the names set."""
    loaded = set()
    for name, (arr, version) in contents.items():
        if name not in values:
            continue  # another job's param this net does not have
        if arr.shape != values[name].shape:
            raise SingaError(f"{path}: param {name} has shape {list(arr.shape)}, "
                             f"the net expects {list(values[name].shape)}")
        np.copyto(values[name], arr)
        versions[name] = version
        loaded.add(name)
    return loaded


def param_workers(graph: plan_pb2.PhaseGraph | None, names: Iterable[str],
                  owner: Callable[[str], str]) -> dict[str, int]:
    """Which worker writes each owner param: the worker of the first node using it (else worker 0)."""
    where: dict[str, int] = {}
    for node in graph.nodes if graph is not None else ():
        for ref in node.params:
            where.setdefault(owner(ref.param), node.worker)
    return {name: where.get(name, 0) for name in names}


def read_step(found: Manifest) -> list[tuple[Path, Contents]]:
    """Every file of a complete step, checked against its manifest's SHA-256 (when it has one) and
    decoded; raises DamagedStep naming the first file that fails."""
    out = []
    for path in found.files:
        try:
            data = path.read_bytes()
        except OSError as err:
            raise DamagedStep(f"{path.name}: {err.strerror or err}") from None
        want = found.sha256.get(path.name)
        if want is not None and sha256_of(data) != want:
            raise DamagedStep(f"{path.name} does not match its SHA-256 in step{found.step}-done")
        try:
            out.append((path, decode(path.name, data)))
        except SingaError as err:
            raise DamagedStep(str(err)) from None
    return out


class Checkpoints:
    """Group 0's checkpoints in `<workspace>/checkpoint`: saving (and pruning to the newest `keep`
    steps), resuming, warm-starting. `plan` is the content hash of the plan that writes them. `grouped`:
    the history holds every server group's (a multi-process run's servers); else group 0's alone is
    loaded, as one process keeps one history for all its groups."""

    def __init__(self, folder: Path, store: ParamStore, updater: History,
                 train_graph: plan_pb2.PhaseGraph | None, plan: str = "", keep: int = 0,
                 say: Callable[[str], None] = print, grouped: bool = False) -> None:
        self.folder, self.store, self.updater, self.grouped = folder, store, updater, grouped
        self.plan, self.keep, self.say = plan, keep, say
        self.workers = param_workers(train_graph, store.values, store.owner)
        self.replace_old = False  # --overwrite: remove the steps found in the folder before the first save
        self.last: Path | None = None  # the manifest of the newest step saved or resumed

    def save(self, step: int) -> None:
        """Write every worker's file for `step`, the updater's history, last the step's manifest; then
        prune the steps beyond the newest `keep`."""
        if self.replace_old:
            remove_steps(self.folder, all_steps(self.folder))
            self.replace_old = False
        remove_steps(self.folder, [step])  # a step saved before is rewritten: incomplete until its manifest
        files = []
        for w in sorted(set(self.workers.values())):
            names = [n for n, wk in self.workers.items() if wk == w]
            files.append(save(self.folder, step, w, {n: self.store.values[n] for n in names},
                              {n: self.store.versions[n] for n in names}))
        path = self.folder / f"step{step}-{UPDATER_SUFFIX}"
        try:
            write_atomic(path, encode_parts(self.updater.state(), {}))
        except OSError as err:
            raise SingaError(f"{path}: cannot write checkpoint: {err.strerror or err}") from None
        self.last = mark_done(self.folder, step, [*files, path], self.plan)
        prune(self.folder, step, self.keep)

    def resume(self) -> int | None:
        """Load the newest complete step that passes its checksums (saying which newer ones do not);
        returns that step (None: none)."""
        steps = complete_steps(self.folder)
        newest = newest_written(self.folder)
        if newest is not None and newest > max((m.step for m in steps), default=-1):
            self.say(f"singart: checkpoint step {newest} is incomplete (no step{newest}-done); "
                     "passing over it")
        for found in steps:
            try:
                contents = read_step(found)
            except DamagedStep as err:
                self.say(f"singart: checkpoint step {found.step} is damaged ({err}); passing over it")
                continue
            self._check_plan(found, contents)
            self._load(contents)
            self.last = done_path(self.folder, found.step)
            return found.step
        return None

    def _check_plan(self, found: Manifest, contents: list[tuple[Path, Contents]]) -> None:
        """Another (or an unknown) plan's step resumes only when it holds exactly this net's params, by
        name and shape (a longer train_steps, another schedule); else it is refused, naming both plans."""
        if found.plan == self.plan:
            return
        mine = {n: v.shape for n, v in self.store.values.items()}
        theirs = {n: a.shape for path, c in contents if FILE_NAME.match(path.name) for n, (a, _) in c.items()}
        writer = f"plan {found.plan[:12]}" if found.plan else "an unknown plan (an older manifest)"
        diff = sorted(n for n in mine.keys() | theirs.keys() if mine.get(n) != theirs.get(n))
        if diff:
            raise SingaError(f"{self.folder}: step {found.step} was written by {writer}, this is plan "
                             f"{self.plan[:12]}, and their params differ ({', '.join(diff[:5])}); "
                             "resume with the plan that wrote it, or start over with --overwrite")
        self.say(f"singart: checkpoint step {found.step} was written by {writer}, this is plan "
                 f"{self.plan[:12]}; their params match by name")

    def _load(self, contents: list[tuple[Path, Contents]]) -> None:
        """Params from the workers' files, then the updater's history."""
        for path, params in contents:
            if FILE_NAME.match(path.name):
                load_contents(path, params, self.store.values, self.store.versions)
        for path, history in contents:
            if not FILE_NAME.match(path.name):
                state = {k: v for k, (v, _) in history.items()}
                try:
                    self.updater.load_state(state if self.grouped else by_group(state).get(0, {}))
                except ValueError as err:  # e.g. another updater type's history
                    raise SingaError(f"{path}: {err}") from None

    def warm_start(self, paths: Iterable[str], step: int, reset_version: bool) -> None:
        """Load params by name from other jobs' files (later files win)."""
        loaded = load_into(paths, self.store.values, self.store.versions)
        if reset_version:
            for name in loaded:
                self.store.versions[name] = step
