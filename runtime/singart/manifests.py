"""Checkpoint steps: the manifest `step<N>-done` that makes a step complete, finding the complete
steps, and removing whole steps (pruning to the newest few, or on `--overwrite`).

A manifest is written last, once every file of its step is durable; it names the plan that wrote the
step (its content hash) and each file with its SHA-256, so a resumed run loads only what this runtime
wrote whole and can tell another plan's checkpoints from its own. Manifests of one file name a line
(written before manifests held more) are read as steps of an unknown plan without checksums.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from singa_spec.files import TEMP_PREFIX, sync_folder, write_atomic

from . import SingaError

FILE_NAME = re.compile(r"^step(\d+)-worker(\d+)$")
UPDATER_SUFFIX = "updater"  # step<N>-updater: the updater's history, so a resumed run continues exactly
DONE_NAME = re.compile(r"^step(\d+)-done$")  # step<N>-done: the manifest of a complete step
STEP_FILE = re.compile(r"^step(\d+)-(?:worker\d+|updater|done)$")  # any of a step's files
MANIFEST_FORMAT = 1


def done_path(folder: Path, step: int) -> Path:
    """The manifest that marks `step` complete."""
    return folder / f"step{step}-done"


def sha256_of(data: bytes) -> str:
    """The SHA-256 that manifests record (about 2 GB/s here: it adds little to writing the files)."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file as it is on disk."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def mark_done(folder: Path, step: int, files: Iterable[Path], plan: str = "") -> Path:
    """Write `step`'s manifest: the plan that wrote the step, and each file's name and SHA-256. Written
    last, it makes the step visible to `latest`."""
    path = done_path(folder, step)
    entries = [{"name": p.name, "sha256": file_sha256(p)} for p in files]
    text = json.dumps({"format": MANIFEST_FORMAT, "step": step, "plan": plan, "files": entries}, indent=1)
    try:
        write_atomic(path, (text + "\n").encode())
    except OSError as err:
        raise SingaError(f"{path}: cannot write checkpoint: {err.strerror or err}") from None
    return path


@dataclass
class Manifest:
    """A complete step: its files in load order, their SHA-256s and the plan that wrote them (both
    unknown, "", in manifests of one file name a line, which singart wrote before it kept them)."""

    step: int
    files: list[Path]
    sha256: dict[str, str] = field(default_factory=dict)
    plan: str = ""


def parse_manifest(path: Path) -> tuple[list[str], dict[str, str], str] | None:
    """(file names, SHA-256 by name, plan hash) of a manifest; None when it is unreadable or malformed."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.lstrip().startswith("{"):
        return text.split(), {}, ""  # the older format: one file name a line
    try:
        doc = json.loads(text)
        entries = [(str(e["name"]), str(e["sha256"])) for e in doc["files"]]
        return [n for n, _ in entries], dict(entries), str(doc.get("plan", ""))
    except (ValueError, KeyError, TypeError):
        return None


def step_manifest(path: Path, step: int) -> Manifest | None:
    """`step`'s manifest with its files, workers in order then the updater's history; None unless every
    file exists and belongs to `step` (a damaged manifest or a missing file: the step is incomplete)."""
    parsed = parse_manifest(path)
    if parsed is None:
        return None
    names, digests, plan = parsed
    workers = {n: int(m.group(2)) for n in names if (m := FILE_NAME.match(n)) and int(m.group(1)) == step}
    history = [n for n in names if n == f"step{step}-{UPDATER_SUFFIX}"]
    files = [path.parent / n for n in [*sorted(workers, key=workers.__getitem__), *history]]
    if not workers or len(files) != len(names) or not all(p.is_file() for p in files):
        return None
    return Manifest(step, files, digests, plan)


def step_files(manifest: Path, step: int) -> list[Path] | None:
    """The files of `step`'s manifest (None: the step is incomplete)."""
    found = step_manifest(manifest, step)
    return found.files if found is not None else None


def files_in(folder: Path) -> list[Path]:
    """What `folder` holds that could be a checkpoint file: not folders (a user's folder named like a
    step is not ours, and unlinking it would fail)."""
    return [p for p in folder.iterdir() if not p.is_dir()] if folder.is_dir() else []


def complete_steps(folder: Path) -> list[Manifest]:
    """The complete steps in `folder`, newest first."""
    done = {int(m.group(1)): p for p in files_in(folder)
            if (m := DONE_NAME.match(p.name))}
    found = (step_manifest(done[step], step) for step in sorted(done, reverse=True))
    return [m for m in found if m is not None]


def latest(folder: Path) -> tuple[int, list[Path]] | None:
    """The newest complete step in `folder` and its files (None when there is none)."""
    steps = complete_steps(folder)
    return (steps[0].step, steps[0].files) if steps else None


def step_of(name: str) -> int | None:
    """The step a checkpoint file, manifest or a killed writer's temp file of one belongs to (None: the
    name is not one of these; nothing else in the folder is ever removed)."""
    m = STEP_FILE.match(name)
    if m is None and name.startswith(TEMP_PREFIX):  # .partial-<name>.<random>, from write_atomic
        m = STEP_FILE.match(name[len(TEMP_PREFIX):].rpartition(".")[0])
    return int(m.group(1)) if m else None


def newest_written(folder: Path) -> int | None:
    """The newest step with any worker file, complete or not."""
    steps = [int(m.group(1)) for p in files_in(folder)
             if (m := FILE_NAME.match(p.name))]
    return max(steps, default=None)


def all_steps(folder: Path) -> set[int]:
    """Every step with any file in `folder`, complete or not."""
    return {s for p in files_in(folder) if (s := step_of(p.name)) is not None}


def remove_steps(folder: Path, steps: Iterable[int]) -> None:
    """Delete whole steps, oldest first, each manifest first: a step half removed is incomplete, never
    wrong."""
    wanted = set(steps)
    by_step: dict[int, list[Path]] = {}
    for p in files_in(folder):
        if (step := step_of(p.name)) in wanted:
            by_step.setdefault(step, []).append(p)
    for step in sorted(by_step):
        done = done_path(folder, step)
        for p in sorted(by_step[step], key=lambda p: p != done):
            p.unlink(missing_ok=True)
            if p == done:
                sync_folder(folder)


def prune(folder: Path, newest: int, keep: int) -> None:
    """Keep the `keep` newest complete steps up to `newest` (just written) and every complete step newer
    than it (a finished run this one replaces, or a step resume passed over as damaged or unreadable:
    the user's until this run writes that step again); remove the rest: older steps, incomplete ones."""
    if keep <= 0:
        return
    complete = {m.step for m in complete_steps(folder)}
    kept = set(sorted((s for s in complete if s <= newest), reverse=True)[:keep])
    remove_steps(folder, all_steps(folder) - kept - {s for s in complete if s > newest})
