"""The input gradient of an unrolled recurrent layer: each copy gives only its time step's block, and
the executor adds the blocks into one sum, so a step costs O(T) blocks rather than O(T^2) (T copies
each handing back a whole (batch, time, features) tensor)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import singac
from singa_proto import job_pb2
from singart import store
from singart.executor import GradSums
from singart.layers.base import PartGrad
from singart.layers.recurrent import RecurrentStep
from singart.train import find_graph
from singart.worker import WorkerGroup

from .rnn_jobs import BATCH, EMBED, HIDDEN, TIME, lm_job, write_windows


def test_sums_add_blocks_into_one_array_and_leave_the_consumers_buffers_alone() -> None:
    sums, rng = GradSums(), np.random.default_rng(0)
    whole = rng.standard_normal((2, 3, 4)).astype(np.float32)
    steps = [rng.standard_normal((2, 4)).astype(np.float32) for _ in range(3)]
    sums.add("x", whole)
    for t, v in enumerate(steps):
        sums.add("x", PartGrad((2, 3, 4), (slice(None), t), v))
    want = whole + np.stack(steps, axis=1)
    np.testing.assert_allclose(sums.pop("x"), want, rtol=1e-6)
    assert not np.allclose(whole, want)  # the first consumer's gradient was copied, not added into


def test_blocks_alone_sum_from_zeros() -> None:
    sums = GradSums()
    sums.add("x", PartGrad((2, 3), (slice(None), 1), np.array([5.0, 6.0], np.float32)))
    assert sums.pop("x").tolist() == [[0, 5, 0], [0, 6, 0]]


def test_each_copy_returns_only_its_steps_gradient(tmp_path: Path) -> None:
    src = tmp_path / "job.pbtxt"
    src.write_text(lm_job(write_windows(tmp_path / "shard"), tmp_path / "ws", "kGRU"))
    plan = singac.compile_file(str(src))
    graph = find_graph(plan, job_pb2.kTrain)
    values, _ = store.build(plan, graph)
    (ex,) = WorkerGroup(graph, values, plan.job.seed, train=True).executors
    ex.forward(0)
    copies = [st for _, st in ex.steps if isinstance(getattr(st, "layer", None), RecurrentStep)]
    assert len(copies) == TIME
    for t, st in enumerate(copies):
        dx, _ = st.layer.backward(np.ones((BATCH, HIDDEN), np.float32), st.grads)
        assert isinstance(dx, PartGrad), type(dx)
        assert dx.shape == (BATCH, TIME, EMBED) and dx.index == (slice(None), t)
        assert dx.value.shape == (BATCH, EMBED)


def test_the_copies_in_a_worker_add_into_one_buffer_a_param(tmp_path: Path) -> None:
    """One weight-gradient buffer a param for all TIME copies of a worker (not TIME buffers summed), and
    another worker's copies have their own (two threads never add into one array)."""
    src = tmp_path / "job.pbtxt"
    src.write_text(lm_job(write_windows(tmp_path / "shard"), tmp_path / "ws", "kGRU", n=2))
    plan = singac.compile_file(str(src))
    graph = find_graph(plan, job_pb2.kTrain)
    values, _ = store.build(plan, graph)
    buffers = []
    for ex in WorkerGroup(graph, values, plan.job.seed, train=True).executors:
        copies = [st for _, st in ex.steps if isinstance(getattr(st, "layer", None), RecurrentStep)]
        assert len(copies) == TIME
        ids = {tuple(id(g) for g in st.grads) for st in copies}
        assert len(ids) == 1 and len(set(next(iter(ids)))) == 3  # wx, wh, b: three buffers, shared
        buffers.append(next(iter(ids)))
    assert len(buffers) == 2 and not set(buffers[0]) & set(buffers[1])
