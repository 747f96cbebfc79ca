"""The MNIST MLP example (784-2500-2000-1500-1000-500-10) trains the same at every worker count of one
group, 1 to 16: the same per-step losses and final params as one worker. From 11 workers on, a replica
of the last layer owns an empty block of its 10 outputs, so its GEMMs have M, N or K = 0."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format
from singa_proto import job_pb2
from singac import compile_job
from singac.source import Source
from singart.data.convert import write_image_shard
from singart.train import run_plan

from ..checkpoints import losses, step_params

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mnist" / "job.pbtxt"
STEPS, BATCH = 2, 64


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A shard of STEPS batches of random 28x28 digits, ten classes."""
    rng = np.random.default_rng(5)
    folder = str(tmp_path_factory.mktemp("data") / "shard")
    n = STEPS * BATCH
    write_image_shard(folder, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n),
                      interval=1e9)
    return folder


def train(root: Path, shard: str, workers: int) -> tuple[list[float], dict[str, np.ndarray]]:
    """The example job at `workers` workers for STEPS steps: its per-step losses and final params."""
    text = EXAMPLE.read_text()
    job = text_format.Parse(text, job_pb2.JobProto())
    job.train_steps, job.disp_freq = STEPS, 1
    job.test_steps = job.test_freq = job.validate_steps = job.validate_freq = 0
    ws = root / f"ws{workers}"
    job.cluster.nworkers_per_group = workers
    job.cluster.workspace = str(ws)
    for layer in job.neuralnet.layer:
        if layer.type == job_pb2.kShardData:
            layer.sharddata_conf.path, layer.sharddata_conf.batchsize = shard, BATCH
    plan = compile_job(job, Source(str(EXAMPLE), text))
    assert [g.num_partitions for g in plan.graphs] == [workers]  # the train net, over every worker
    out = io.StringIO()
    run_plan(plan, out=out, err=io.StringIO())
    params = step_params(ws, STEPS)
    shutil.rmtree(ws)  # 48 MB of checkpoint a run
    return losses(out.getvalue()), params


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory, shard: str) -> tuple[list[float], dict]:
    return train(tmp_path_factory.mktemp("one"), shard, 1)


@pytest.mark.parametrize("workers", range(1, 17))
def test_every_worker_count_trains_as_one(workers: int, tmp_path: Path, shard: str,
                                          one_worker: tuple[list[float], dict]) -> None:
    ref_losses, ref_params = one_worker
    losses, params = train(tmp_path, shard, workers)
    assert len(ref_losses) == len(losses) == STEPS
    assert ref_losses[1] != ref_losses[0]  # it trained
    np.testing.assert_allclose(losses, ref_losses, rtol=2e-5, atol=1e-6)
    assert params.keys() == ref_params.keys() == {f"{p}{i}" for p in "wb" for i in range(1, 7)}
    for name, want in ref_params.items():
        np.testing.assert_allclose(params[name], want, rtol=1e-4, atol=1e-5, err_msg=name)
