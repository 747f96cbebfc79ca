"""What the step benchmark measures: the nets, PyTorch's variants, the job files and synthetic shards."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from singa_proto import job_pb2

ROOT = Path(__file__).resolve().parents[2]  # the repository
RECORDS = 2048  # records in each synthetic shard: the readers wrap around it


@dataclass(frozen=True)
class Net:
    """An example net as the benchmark runs it."""

    job: str                      # the example job file, relative to the repository root
    batch: int
    record: tuple[int, ...]       # the shape of one uint8 record
    conv: bool                    # a convnet (channels_last applies)


NETS: dict[str, Net] = {
    "mnist-mlp": Net("examples/mnist/job.pbtxt", 64, (28, 28), False),
    "lenet": Net("examples/mnist/lenet.pbtxt", 64, (28, 28), True),
    "cifar10-singa": Net("examples/cifar10/job.pbtxt", 100, (3, 32, 32), True),
    "cifar10-quick": Net("examples/cifar10/quick.pbtxt", 100, (3, 32, 32), True),
}


@dataclass(frozen=True)
class Variant:
    """A way a user would run the PyTorch net on CPU."""

    optimizer: dict[str, bool] = field(default_factory=dict)  # extra torch.optim.SGD arguments
    channels_last: bool = False                               # model and input (convnets only)
    compile: bool = False                                     # torch.compile, default backend


VARIANTS: dict[str, Variant] = {
    "eager": Variant(),
    "eager+foreach": Variant(optimizer={"foreach": True}),
    "eager+fused": Variant(optimizer={"fused": True}),
    "channels_last+fused": Variant(optimizer={"fused": True}, channels_last=True),
    "compile+fused": Variant(optimizer={"fused": True}, compile=True),
}


def variants_for(net: str, wanted: list[str]) -> list[str]:
    """The variants of `wanted` that apply to `net` (channels_last: convnets only)."""
    return [v for v in wanted if NETS[net].conv or not VARIANTS[v].channels_last]


def read_job(path: Path) -> job_pb2.JobProto:
    """A job file, parsed."""
    from google.protobuf import text_format
    from singa_proto import job_pb2

    return text_format.Parse(path.read_text(), job_pb2.JobProto())


def bench_job(net: str, folder: Path, workers: int, train_steps: int, workspace: Path) -> job_pb2.JobProto:
    """The example job of `net` with the benchmark's batch, a synthetic shard and no test phase."""
    from singa_proto import job_pb2

    spec = NETS[net]
    job = read_job(ROOT / spec.job)
    job.train_steps = train_steps
    job.test_steps = job.validate_steps = 0
    job.cluster.nworkers_per_group = workers
    job.cluster.nworkers_per_procs = workers  # the group's workers as threads of one process
    job.cluster.workspace = str(workspace)
    for layer in job.neuralnet.layer:
        if layer.type == job_pb2.kShardData:
            layer.sharddata_conf.batchsize = spec.batch
            layer.sharddata_conf.path = synthetic_shard(folder, spec.record)
            layer.sharddata_conf.random_skip = 0
        if layer.type == job_pb2.kRGBImage and layer.rgbimage_conf.meanfile:
            layer.rgbimage_conf.meanfile = mean_file(folder, spec.record)
    return job


def synthetic_records(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """RECORDS random uint8 records of `shape` and labels 0..9 (the same in every process)."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (RECORDS, *shape), dtype=np.uint8), rng.integers(0, 10, RECORDS)


def synthetic_shard(folder: Path, shape: tuple[int, ...]) -> str:
    """The shard of synthetic records of `shape` in `folder`, written on first use."""
    from singart.data.convert import write_image_shard

    path = folder / ("shard-" + "x".join(map(str, shape)))
    if not path.exists():
        write_image_shard(str(path), *synthetic_records(shape), interval=1e9)
    return str(path)


def mean_file(folder: Path, shape: tuple[int, ...]) -> str:
    """The mean image of the synthetic records of `shape` in `folder`, written on first use."""
    from singart.data.convert import write_mean_image

    path = folder / ("mean-" + "x".join(map(str, shape)) + ".bin")
    if not path.exists():
        write_mean_image(str(path), synthetic_records(shape)[0])
    return str(path)


def write_text_job(job: job_pb2.JobProto, path: Path) -> str:
    """Write `job` as text to `path`; the path as a string."""
    from google.protobuf import text_format

    path.write_text(text_format.MessageToString(job))
    return str(path)


def mlp_gflop(net: str) -> float:
    """GFLOP of one training step of an inner-product chain: forward 2 B sum(in*out), backward twice
    that, less the first layer's input gradient (nothing needs it; singart skips it, autograd too)."""
    from singa_proto import job_pb2

    spec, job = NETS[net], read_job(ROOT / NETS[net].job)
    sizes = [math.prod(spec.record)] + [la.innerproduct_conf.num_output for la in job.neuralnet.layer
                                        if la.type == job_pb2.kInnerProduct]
    forward = 2 * spec.batch * sum(a * b for a, b in itertools.pairwise(sizes))
    return (3 * forward - 2 * spec.batch * sizes[0] * sizes[1]) / 1e9
