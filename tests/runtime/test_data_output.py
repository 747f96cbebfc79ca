"""What `singart data` prints, and what a shard reader says about a record of the wrong size."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from singart.data.records import decode_shard, image_record
from singart.data.shard import DataShard, ShardError, kCreate


def _idx(array: np.ndarray) -> bytes:
    magic = {3: 0x803, 1: 0x801}[array.ndim]
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape) + array.tobytes()


def _make_idx(folder: Path) -> None:
    rng = np.random.default_rng(2)
    for prefix, n in (("train", 7), ("t10k", 3)):
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(_idx(rng.integers(0, 256, (n, 28, 28), np.uint8)))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(rng.integers(0, 10, n, np.uint8)))


def test_data_prints_each_shard_once(tmp_path: Path) -> None:
    _make_idx(tmp_path)
    exe = Path(sys.executable).parent / "singart"
    proc = subprocess.run([str(exe), "data", "mnist", str(tmp_path), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["mnist_train_shard: 7 records", "mnist_test_shard: 3 records"]
    assert proc.stderr == ""


def _shard(folder: Path, records: list[tuple[tuple[int, ...], bytes]]) -> str:
    with DataShard(str(folder), kCreate) as shard:
        for i, (shape, pixel) in enumerate(records):
            shard.insert(f"{i:05d}", image_record(shape, 0, pixel=pixel))
        shard.flush()
    return str(folder)


def test_pixel_count_mismatch_names_the_counts(tmp_path: Path) -> None:
    folder = _shard(tmp_path / "s", [((28, 28), bytes(784)), ((28, 28), bytes(100))])
    with pytest.raises(ShardError) as err:
        decode_shard(folder)
    msg = str(err.value)
    assert "record 1: image of shape [28, 28] holds 100 pixel values, not 784" in msg, msg
    assert "differs from the first" not in msg


def test_shape_mismatch_names_both_shapes(tmp_path: Path) -> None:
    folder = _shard(tmp_path / "s", [((28, 28), bytes(784)), ((7, 4), bytes(28))])
    with pytest.raises(ShardError, match=r"record 1: image shape \[7, 4\] differs from the first "
                                         r"record's \[28, 28\]"):
        decode_shard(folder)
