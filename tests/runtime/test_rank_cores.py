"""A rank's kernel threads: its host's cores shared by the job's ranks on that host (the address book
says where each listens), not by every rank of the job."""
from __future__ import annotations

import pytest
from singart.distributed.node import rank_cores

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
