"""Checkpoint files: BlobProtos by name, atomic writes that survive a killed writer, newest-step lookup."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from singa_proto import common_pb2
from singa_spec import files as fileio
from singart import SingaError, checkpoint, manifests


def _params(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"w1": rng.standard_normal((5, 7)).astype(np.float32), "b1": rng.standard_normal(5).astype(np.float32)}


def test_encoding_is_protobufs_own_bytes() -> None:
    """The file is written in pieces straight from the arrays; its bytes are what protobuf's serializer
    makes of the same message (negative versions, empty and 0-d arrays, other dtypes and orders)."""
    values = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "empty": np.zeros((0, 3), np.float32),
              "scalar": np.float32(2.5) * np.ones((), np.float32),
              "fortran": np.asfortranarray(np.arange(15.0).reshape(5, 3))}
    versions = {"w": 7, "empty": -1}
    message = common_pb2.BlobProtos()
    for name, value in values.items():
        message.name.append(name)
        message.version.append(versions.get(name, 0))
        blob = message.blob.add(shape=value.shape)
        blob.data.extend(np.asarray(value, np.float32).ravel().tolist())
    assert checkpoint.encode(values, versions) == message.SerializeToString()


def test_saving_makes_no_copy_of_the_params(tmp_path: Path) -> None:
    """Building the whole message held four copies of the params at once: the final checkpoint was a
    run's memory peak. Written in pieces, a save allocates a small fraction of what it writes."""
    values = {"w": np.ones((1000, 4000), np.float32), "b": np.ones(1000, np.float32)}  # 16 MB
    tracemalloc.start()
    try:
        checkpoint.save(tmp_path, 1, 0, values, {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < values["w"].nbytes // 10, f"{peak} bytes allocated to save {values['w'].nbytes}"
    assert checkpoint.read(tmp_path / "step1-worker0")["w"][0].sum() == 4_000_000


def test_file_is_singa_blobprotos_by_name(tmp_path: Path) -> None:
    values = _params(0)
    path = checkpoint.save(tmp_path, 40, 1, values, {"w1": 40, "b1": 40})
    assert path.name == "step40-worker1"
    blobs = common_pb2.BlobProtos.FromString(path.read_bytes())
    assert list(blobs.name) == ["w1", "b1"] and list(blobs.version) == [40, 40]
    assert list(blobs.blob[0].shape) == [5, 7]
    np.testing.assert_array_equal(np.array(blobs.blob[0].data, np.float32), values["w1"].ravel())
    back = checkpoint.read(path)
    np.testing.assert_array_equal(back["b1"][0], values["b1"])


def test_failed_rename_keeps_the_last_good_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _params(0)
    checkpoint.save(tmp_path, 10, 0, good, {})

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", broken_replace)
    with pytest.raises(SingaError, match="step10-worker0: cannot write checkpoint"):
        checkpoint.save(tmp_path, 10, 0, _params(1), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step10-worker0"]  # no temp file left
    np.testing.assert_array_equal(checkpoint.read(tmp_path / "step10-worker0")["w1"][0], good["w1"])


def test_writer_killed_midway_leaves_no_partial_checkpoint(tmp_path: Path) -> None:
    good = _params(0)
    manifests.mark_done(tmp_path, 10, [checkpoint.save(tmp_path, 10, 0, good, {})])
    # A real process writes step 20 and is killed (SIGKILL) after its data is written but
    # before the rename: the point where a non-atomic writer would have left a partial file.
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from singa_spec import files as fileio
        from singart import checkpoint
        def die(fd):
            os.kill(os.getpid(), signal.SIGKILL)
        fileio.os.fsync = die
        checkpoint.save(checkpoint.Path({str(tmp_path)!r}), 20, 0, {{"w1": np.ones((500, 500), np.float32)}}, {{}})
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    assert not (tmp_path / "step20-worker0").exists()
    step, files = manifests.latest(tmp_path)
    assert step == 10 and [f.name for f in files] == ["step10-worker0"]
    np.testing.assert_array_equal(checkpoint.read(files[0])["w1"][0], good["w1"])
    fileio.remove_partial(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step10-done", "step10-worker0"]


def test_latest_picks_the_newest_step_and_all_its_workers(tmp_path: Path) -> None:
    for step in (0, 5, 12):
        manifests.mark_done(tmp_path, step, [checkpoint.save(tmp_path, step, w, _params(step), {}) for w in (1, 0)])
    (tmp_path / "step99-notes.txt").write_text("not a checkpoint")
    step, files = manifests.latest(tmp_path)
    assert step == 12 and [f.name for f in files] == ["step12-worker0", "step12-worker1"]
    assert manifests.latest(tmp_path / "absent") is None


def test_load_by_name_later_files_win(tmp_path: Path) -> None:
    a = checkpoint.save(tmp_path / "a", 3, 0, {"w1": np.zeros((5, 7), np.float32), "other": np.ones(2, np.float32)},
                        {"w1": 3})
    b = checkpoint.save(tmp_path / "b", 8, 0, {"w1": np.full((5, 7), 2, np.float32)}, {"w1": 8})
    values, versions = _params(0), {"w1": 0, "b1": 0}
    b1 = values["b1"].copy()
    assert checkpoint.load_into([a, b], values, versions) == {"w1"}
    np.testing.assert_array_equal(values["w1"], 2)
    np.testing.assert_array_equal(values["b1"], b1)  # not in any file: keeps its init
    assert versions["w1"] == 8


def test_shape_mismatch_and_garbage_are_one_line_errors(tmp_path: Path) -> None:
    path = checkpoint.save(tmp_path, 1, 0, {"w1": np.zeros((7, 5), np.float32)}, {})
    with pytest.raises(SingaError, match=r"step1-worker0: param w1 has shape \[7, 5\], the net expects \[5, 7\]"):
        checkpoint.load_into([path], _params(0), {})
    junk = tmp_path / "junk"
    junk.write_bytes(b"\xff\xff\xff\xff not a proto")
    with pytest.raises(SingaError, match="junk: not a checkpoint file"):
        checkpoint.read(junk)
    with pytest.raises(SingaError, match="cannot read checkpoint"):
        checkpoint.read(tmp_path / "absent")


def test_files_are_readable_by_others(tmp_path: Path) -> None:
    path = checkpoint.save(tmp_path, 1, 0, _params(0), {})
    assert os.stat(path).st_mode & 0o044 == 0o044


def _step(folder: Path, step: int, workers: int = 2, history: bool = True) -> list[Path]:
    files = [checkpoint.save(folder, step, w, _params(step), {}) for w in range(workers)]
    if history:
        files.append(folder / f"step{step}-updater")
        checkpoint.write_atomic(files[-1], checkpoint.encode({"w1/history": np.ones(2, np.float32)}, {}))
    manifests.mark_done(folder, step, files)
    return files


def test_latest_passes_over_incomplete_steps(tmp_path: Path) -> None:
    _step(tmp_path, 4)
    _step(tmp_path, 8)
    (tmp_path / "step8-updater").unlink()  # its manifest names a file that is gone
    _step(tmp_path, 12)[1].unlink()  # a worker's file is gone
    checkpoint.save(tmp_path, 16, 0, _params(16), {})  # written, but the step never finished
    (tmp_path / "step20-done").write_bytes(b"\xff\xfe garbage")
    _step(tmp_path, 24)
    (tmp_path / "step24-done").write_text("step24-worker0\nstep4-worker1\n")  # another step's file
    step, files = manifests.latest(tmp_path)
    assert step == 4 and [f.name for f in files] == ["step4-worker0", "step4-worker1", "step4-updater"]
    assert manifests.newest_written(tmp_path) == 24


def test_a_step_without_its_manifest_is_not_resumed(tmp_path: Path) -> None:
    checkpoint.save(tmp_path, 3, 0, _params(3), {})
    assert manifests.latest(tmp_path) is None
