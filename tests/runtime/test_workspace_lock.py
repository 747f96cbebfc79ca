"""The workspace lock under races: a run that locks a lock file another run removed after giving the
workspace up must not believe it holds the workspace."""
from __future__ import annotations

import os
from pathlib import Path

from singart.workspace import LOCK_NAME, Workspace, open_workspace, same_file


def test_a_removed_lock_file_is_not_the_lock(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        assert same_file(fd, path)
        path.unlink()
        assert not same_file(fd, path)  # gone
        path.write_text("")
        assert not same_file(fd, path)  # another file of that name
    finally:
        os.close(fd)


def test_discarding_a_new_workspace_removes_its_lock_before_letting_go(tmp_path: Path) -> None:
    ws = open_workspace(str(tmp_path / "new"))
    assert isinstance(ws, Workspace) and (tmp_path / "new" / LOCK_NAME).exists()
    ws.discard()
    assert not (tmp_path / "new").exists()
    again = open_workspace(str(tmp_path / "new"))  # the next run locks a fresh file
    try:
        assert same_file(again._lock or -1, tmp_path / "new" / LOCK_NAME)
    finally:
        again.release()
