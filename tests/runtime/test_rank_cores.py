"""A rank's kernel threads: its host's cores shared by the job's ranks on that host (the address book
says where each listens), not by every rank of the job."""
from __future__ import annotations

from pathlib import Path

import pytest
from singa_proto import job_pb2
from singa_spec.plans import read_plan
from singart import ops, store
from singart.distributed.node import rank_cores
from singart.train import find_graph
from singart.worker import WorkerGroup

from .run_jobs import make_plan

# ranks 0, 1 and 3 on one host, rank 2 alone on another, rank 4 and 5 on an IPv6 host
TWO_HOSTS = {0: "10.1.0.1:7000", 1: "10.1.0.1:7001", 2: "10.1.0.2:7000", 3: "10.1.0.1:7002",
             4: "[fd00::7]:7000", 5: "[fd00:0::7]:7001"}


@pytest.mark.parametrize("rank,threads", [(0, 4), (1, 4), (3, 4), (2, 12), (4, 6), (5, 6)])
def test_a_rank_shares_its_hosts_cores_with_the_ranks_there(rank: int, threads: int) -> None:
    assert rank_cores(TWO_HOSTS, rank, 12) == threads


def test_a_host_named_and_numbered_is_one_host() -> None:
    book = {0: "localhost:7000", 1: "127.0.0.1:7001", 2: "10.1.0.2:7000"}
    assert [rank_cores(book, r, 8) for r in range(3)] == [4, 4, 8]


def test_more_ranks_than_cores_still_get_one_thread() -> None:
    book = {r: f"127.0.0.1:{7000 + r}" for r in range(5)}
    assert rank_cores(book, 0, 2) == 1


def test_a_ranks_workers_share_its_cores_not_the_process_count(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # the process may use 12 cores, the rank's share of its host is 6: each of its 2 workers gets 3
    monkeypatch.setenv("OMP_NUM_THREADS", "12")
    plan = read_plan(make_plan(tmp_path, workers=2))
    graph = find_graph(plan, job_pb2.kTrain)
    params, _ = store.build(plan, graph)
    group = WorkerGroup(graph, params, plan.job.seed, train=True, cores=6)
    try:
        assert group.pool is not None
        assert group.pool.submit(ops.get_num_threads).result() == 3
    finally:
        group.close()
