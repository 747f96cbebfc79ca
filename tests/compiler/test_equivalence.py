"""The compiler's contract: every partitioning computes the unpartitioned net's loss and gradients."""
from __future__ import annotations

import numpy as np
import pytest
from singa_proto import job_pb2

from . import jobs
from .conftest import compile_text
from .numpy_plan import full_data, init_params, run

HYBRID_MLP = {"fc1": "partition_dim: 0", "tanh": "partition_dim: 0", "fc2": "partition_dim: 1"}


def located_mlp(n: int) -> str:
    """Whole layers placed on workers by `location` (model parallelism without partitioning)."""
    where = {"fc1": 1, "tanh": 2, "fc2": 0, "loss": 2}
    return jobs.mlp(n, -1, {layer: f"location: {w % n}" for layer, w in where.items()})


CASES = {
    "mlp-batch": lambda n: jobs.mlp(n, 0),
    "mlp-feature": lambda n: jobs.mlp(n, 1),
    "mlp-hybrid": lambda n: jobs.mlp(n, 0, HYBRID_MLP),
    "mlp-feature-then-batch": lambda n: jobs.mlp(n, 0, {"fc1": "partition_dim: 1", "tanh": "partition_dim: 1"}),
    "mlp-uneven-batch": lambda n: jobs.mlp(n, 0, batch=7),
    "mlp-whole": lambda n: jobs.mlp(n, -1),
    "mlp-location": located_mlp,
    "conv-batch": lambda n: jobs.convnet(n, 0),
    "conv-feature": lambda n: jobs.convnet(n, 1),
    "conv-hybrid": lambda n: jobs.convnet(n, 0, {"fc": "partition_dim: 1", "loss": "partition_dim: -1"}),
    "autoencoder-feature": lambda n: jobs.autoencoder(n, 1),
    "autoencoder-batch": lambda n: jobs.autoencoder(n, 0),
    "batch-concat": lambda n: jobs.batch_concat(n, 0),
}


def loss_and_grads(text: str, spread: bool = False):
    plan = compile_text(text)
    if spread:
        assert len({n.worker for n in plan.graphs[0].nodes}) > 1, "the net was not spread over workers"
    data_node = next(n for n in plan.graphs[0].nodes if n.origin == "data")
    params = init_params(plan, 3)  # full-shape values: the same for every partitioning
    return run(plan, job_pb2.kTrain, params, full_data(list(data_node.origin_shape), 5))


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("workers", [2, 3])
def test_partitioned_plan_matches_unpartitioned(case: str, workers: int) -> None:
    loss1, grads1 = loss_and_grads(CASES[case](1))
    loss, grads = loss_and_grads(CASES[case](workers), spread=case != "mlp-whole")
    assert np.isclose(loss, loss1, rtol=1e-12), (loss, loss1)
    assert grads.keys() == grads1.keys()
    for name in grads1:
        np.testing.assert_allclose(grads[name], grads1[name], rtol=1e-10, atol=1e-12, err_msg=name)
    assert any(np.abs(g).sum() > 0 for g in grads1.values())


def test_gradients_are_the_derivative_of_the_loss() -> None:
    """The reference interpreter itself: its gradients match finite differences."""
    text = jobs.convnet(1, 0)
    plan = compile_text(text)
    data = full_data(list(next(n for n in plan.graphs[0].nodes if n.origin == "data").origin_shape), 5)
    params = init_params(plan, 3)
    _, grads = run(plan, job_pb2.kTrain, params, data)
    rng = np.random.default_rng(0)
    for name, value in params.items():
        for _ in range(3):
            i = tuple(rng.integers(0, s) for s in value.shape)
            old = value[i]
            value[i] = old + 1e-6
            up, _ = run(plan, job_pb2.kTrain, params, data)
            value[i] = old - 1e-6
            down, _ = run(plan, job_pb2.kTrain, params, data)
            value[i] = old
            assert np.isclose((up - down) / 2e-6, grads[name][i], rtol=1e-4, atol=1e-7), name
