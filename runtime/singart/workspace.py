"""A job's workspace (`cluster.workspace`): its checkpoint/ and events/ folders, held by one run at a time.

The run holds an exclusive `flock` on `<workspace>/.lock` from before it reads the checkpoints until it
ends; the kernel drops the lock with the process however it ends (kill -9 included), so a workspace is
never left locked. The file keeps the holder's pid and start time, for the refusal a second run prints.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from singa_spec.files import remove_partial

from . import SingaError
from .manifests import complete_steps

LOCK_NAME = ".lock"
SUBFOLDERS = ("checkpoint", "events")


class Workspace:
    """The folders of one run's workspace, created (and locked) by `open_workspace`."""

    def __init__(self, path: Path, created: list[Path]) -> None:
        self.path, self.created = path, created
        self.checkpoints, self.events = path / "checkpoint", path / "events"
        self._lock: int | None = None

    def lock(self) -> None:
        """Hold the workspace for this run, or refuse naming the run that holds it."""
        path = self.path / LOCK_NAME
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode(errors="replace").strip() or "another singart run"
                os.close(fd)
                raise SingaError(f"workspace {self.path} is in use by {holder}") from None
            if same_file(fd, path):
                break
            os.close(fd)  # a run that gave the workspace up removed this file after we opened it: again
        os.ftruncate(fd, 0)
        os.write(fd, f"singart run (pid {os.getpid()}) since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        self._lock = fd

    def release(self) -> None:
        """Let another run use the workspace (the lock file stays: removing it would race a new locker)."""
        if self._lock is not None:
            os.ftruncate(self._lock, 0)  # no holder named once none holds it
            os.close(self._lock)
            self._lock = None

    def discard(self) -> None:
        """Undo `open_workspace` for a run that failed before training: release the lock and remove the
        folders it created, when they are still empty (never anything a run wrote)."""
        if self.path in self.created:  # removed while still held, so no run can lock the removed file
            (self.path / LOCK_NAME).unlink(missing_ok=True)
        self.release()
        for folder in reversed(self.created):
            try:
                folder.rmdir()
            except OSError:
                pass


def same_file(fd: int, path: Path) -> bool:
    """Whether `fd` is still the file at `path` (not one removed, or replaced, since it was opened)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def open_workspace(root: str) -> Workspace:
    """The workspace with its checkpoint/ and events/ folders, checked to be writable and locked; the
    temp files a killed run left in it are removed (only once locked: a live run's are its own)."""
    workspace = Path(root or ".")
    created = [p for p in (*reversed(workspace.parents), workspace) if not p.exists()]
    for sub in SUBFOLDERS:
        folder = workspace / sub
        created += [] if folder.exists() else [folder]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-test-{os.getpid()}"  # two runs starting at once probe apart
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise SingaError(f"cluster.workspace {workspace}: cannot write {folder}: "
                             f"{err.strerror or err}") from None
    ws = Workspace(workspace, created)
    ws.lock()
    for sub in SUBFOLDERS:
        remove_partial(workspace / sub)
    return ws


def check_fresh_run(folder: Path, plan: str, train_steps: int) -> int | None:
    """Whether a run that neither resumes nor overwrites may start in `folder`: its own steps would
    interleave with the old ones, and pruning and a later `--resume` would take the old run's newest step
    for this run's. Allowed without steps (None), and over a finished run of this same plan (returns its
    last step: running the plan again makes those steps again); refused
    over an unfinished run of this plan (it may be meant to resume) or another plan's steps. (The finished
    run's steps stay until this run writes its own: manifests.prune spares complete steps newer than
    the one just written.)"""
    steps = complete_steps(folder)
    if not steps:
        return None
    newest = steps[0]
    if newest.plan == plan and newest.step >= train_steps:
        return newest.step
    if newest.plan == plan:
        raise SingaError(f"{folder} holds checkpoints of an unfinished run of this plan up to step "
                         f"{newest.step}; pass --resume to continue from there, or --overwrite to start "
                         "over and replace them")
    writer = f"plan {newest.plan[:12]}" if newest.plan else "an unknown plan (older manifests)"
    raise SingaError(f"{folder} holds checkpoints of {writer} up to step {newest.step}, this is plan "
                     f"{plan[:12]}; pass --overwrite to replace them, or use another cluster.workspace")
