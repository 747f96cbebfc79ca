"""A rank that hosts workers and servers draws the initial values once: its shards hold slices of the
very values its workers start from, which are the one-process run's."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from singa_spec.plans import read_plan
from singart import store
from singart.distributed.launcher import free_port
from singart.distributed.node import Node
from singart.distributed.params_rpc import hosted_servers, local_shards
from singart.launch.rank import Rank
from singart.params.slicing import flat_part

from .run_jobs import make_plan
from .test_run_processes import ALLREDUCE


def test_a_rank_with_workers_and_servers_shares_one_draw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = read_plan(make_plan(tmp_path, workers=ALLREDUCE, steps=2))
    role = next(r for r in plan.roles if r.rank == 0)
    assert role.workers and role.servers, role

    def second_draw(*args: object) -> None:
        raise AssertionError("the shards drew their values again")

    monkeypatch.setattr("singart.distributed.params_rpc.init_param", second_draw)
    node = Node(plan, Rank(0, len(plan.roles), f"127.0.0.1:{free_port()}", "test"), "a-token-0123456789")
    try:
        assert node.values is not None
        want = store.init_values(plan)
        assert node.values.keys() == want.keys()
        for name, value in want.items():
            np.testing.assert_array_equal(node.values[name], value, err_msg=name)
        held = [h for shard in node.shards.values() for h in shard.held.values()]
        assert held
        for h in held:
            np.testing.assert_array_equal(h.value, flat_part(node.values[h.spec.param], h.spec))
    finally:
        node.close()


def test_shards_take_the_values_drawn_in_their_process(tmp_path: Path) -> None:
    """Values handed to the shards are served as they are, not drawn again from the plan."""
    plan = read_plan(make_plan(tmp_path, workers=ALLREDUCE, steps=2))
    drawn = {name: np.arange(v.size, dtype=np.float32).reshape(v.shape) for name, v in store.init_values(plan).items()}
    shards = local_shards(plan, hosted_servers(plan, 0), drawn)
    held = [h for shard in shards.values() for h in shard.held.values()]
    assert held
    for h in held:
        np.testing.assert_array_equal(h.value, flat_part(drawn[h.spec.param], h.spec))
