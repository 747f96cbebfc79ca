"""The param split (a worker rank's stub: a ParamStore over its nodes updating through RemoteUpdates;
server-side shards; the client between them) against one ParamStore over every node: the same values
bit for bit with every updater rule, params cut across servers, exactly one update per group per step,
Hogwild sync between server groups, and one-line refusals."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format
from singa_proto import job_pb2, plan_pb2
from singart import SingaError, store
from singart.params.client import in_process_servers
from singart.params.shard import Shard
from singart.params.slicing import Slice
from singart.params.updaters import Updater

from .params_driver import REPO, Split, compile_job, oracle, run_groups
from .run_jobs import FIELDS, JOB

LENET = (REPO / "examples" / "mnist" / "lenet.pbtxt").read_text()
FIXED = "learning_rate { type: kFixed base_lr: %s }"
UPDATERS = {
    "sgd": "type: kSGD weight_decay: 0.001 " + FIXED % 0.05,
    "momentum": "type: kSGD momentum: 0.9 weight_decay: 0.001 " + FIXED % 0.05,
    "nesterov": "type: kNesterov momentum: 0.9 weight_decay: 0.001 " + FIXED % 0.05,
    "adagrad": "type: kAdaGrad weight_decay: 0.001 " + FIXED % 0.05,
    "rmsprop": "type: kRMSProp rmsprop_conf { rho: 0.9 } weight_decay: 0.001 " + FIXED % 0.01,
    "adam": "type: kAdam weight_decay: 0.001 " + FIXED % 0.01,
}
SYNC_GROUP = "nworkers_per_group: 4 nservers_per_group: 2"


def mlp(feature: bool = False) -> str:
    """The small MLP of the run tests; `feature`: partitioned by features (nodes use param blocks)."""
    text = JOB.format(**FIELDS, ws="ws", shard="shard")
    return text.replace("neuralnet {", "neuralnet {\n  partition_dim: 1") if feature else text


def cut_across_servers(plan: plan_pb2.PlanProto) -> bool:
    return any(len({s.server for s in e.slices}) > 1 for e in plan.params)


NETS = {"lenet": (LENET, 2), "mlp-feature": (mlp(feature=True), 5)}  # net -> (job, steps)


@pytest.mark.parametrize("updater", list(UPDATERS))
@pytest.mark.parametrize("net", list(NETS))
def test_split_matches_param_store(net: str, updater: str, tmp_path: Path) -> None:
    text, steps = NETS[net]
    plan = compile_job(tmp_path, text, SYNC_GROUP, UPDATERS[updater])
    assert cut_across_servers(plan), "no param is cut across the two servers"
    assert {e.num_shares for e in plan.params if not e.share_from} == {4}
    if net == "mlp-feature":
        assert any(r.HasField("block") for g in plan.graphs for n in g.nodes for r in n.params)
    want = oracle(plan, steps)
    got = Split(plan, [[0, 1], [2, 3]]).run(steps)
    start = store.init_values(plan)
    for name, value in want.items():
        assert not np.array_equal(value, start[name]), f"{name} never moved"
        np.testing.assert_array_equal(got[name], value, err_msg=name)


def test_one_update_per_group_per_step(tmp_path: Path) -> None:
    plan = compile_job(tmp_path, mlp(), SYNC_GROUP, UPDATERS["momentum"])
    split = Split(plan, [[0, 1], [2, 3]])
    got = split.run(200)
    counts = {key: shard.updates(*key) for shard in split.shards.values() for key in shard.held}
    assert len(counts) > len(plan.params), "no param was cut into several slices"
    assert all(c == {0: 200} for c in counts.values()), counts
    want = oracle(plan, 200)  # no update lost or doubled: the values agree too
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


HOGWILD = "nworker_groups: 2 nserver_groups: 2 nservers_per_group: 2 sync_freq: %d"
PLAIN_SGD = "type: kSGD " + FIXED % 0.05


def masters(plan: plan_pb2.PlanProto) -> dict[str, set[int]]:
    return {e.name: {s.master_group for s in e.slices} for e in plan.params if not e.share_from}


def test_hogwild_sync_pulls_replicas_to_the_master(tmp_path: Path) -> None:
    """Group 0 trains toward +1, group 1 toward -1. Unsynced, each server group's replica ends at its
    own target (2 apart); synced every 2 updates, the replicas stay within 4 lr-steps of each other
    (each moves at most lr * |w - target| <= 0.05 * 2.5 per update between syncs), near the joint
    optimum 0."""
    apart = run_groups(compile_job(tmp_path, mlp(), HOGWILD % 10**6, PLAIN_SGD), [1.0, -1.0], 150)
    plan = compile_job(tmp_path, mlp(), HOGWILD % 2, PLAIN_SGD)
    assert set().union(*masters(plan).values()) == {0, 1}, "one server group masters every slice"
    synced = run_groups(plan, [1.0, -1.0], 150)
    for name in masters(plan):
        assert np.abs(apart[0, name] - apart[1, name]).min() > 1.9
        assert np.abs(synced[0, name] - synced[1, name]).max() <= 4 * 0.05 * 2.5, name
        assert np.abs(synced[0, name]).max() < 0.5, name


def test_a_sync_with_nothing_in_flight_leaves_the_masters_values(tmp_path: Path) -> None:
    plan = compile_job(tmp_path, mlp(), HOGWILD % 1, PLAIN_SGD)
    shards = in_process_servers(plan, {e.name: np.zeros(e.shape, np.float32) for e in plan.params})
    for (sgroup, server), shard in shards.items():
        for (name, sid), held in shard.held.items():
            if held.spec.master_group == sgroup:
                continue
            master = shards[held.spec.master_group, server].held[name, sid]
            before = master.value.copy()
            shard.update(sgroup, 0, name, sid, np.ones(held.spec.size, np.float32))
            np.testing.assert_array_equal(held.value, master.value)  # the non-master took the master's
            np.testing.assert_array_equal(master.value, before - np.float32(0.05))  # which got the delta


@pytest.fixture()
def shard(tmp_path: Path) -> Shard:
    plan = compile_job(tmp_path, mlp(), SYNC_GROUP, PLAIN_SGD)
    return in_process_servers(plan, {e.name: np.zeros(e.shape, np.float32) for e in plan.params})[0, 0]


def first_slice(shard: Shard) -> tuple[str, int, int]:
    (name, sid), held = next(iter(shard.held.items()))
    return name, sid, held.spec.size


REFUSALS = {  # what the shard is sent -> what its error says
    "wrong size": (lambda s, n, i, k: s.update(0, 0, n, i, np.zeros(k + 1, np.float32)), "floats, the slice has"),
    "unknown slice": (lambda s, n, i, k: s.update(0, 0, n, 999, np.zeros(k, np.float32)), "no slice 999"),
    "unknown param": (lambda s, n, i, k: s.get(0, "nope", i, 0), "of param 'nope'"),
    "float64": (lambda s, n, i, k: s.update(0, 0, n, i, np.zeros(k)), "dtype float64"),
    "extra share": (lambda s, n, i, k: s.update(0, 0, n, i, np.zeros(k, np.float32), 5), "5 shares at step 0"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_shard_refuses_with_one_line(case: str, shard: Shard) -> None:
    call, words = REFUSALS[case]
    name, sid, size = first_slice(shard)
    with pytest.raises(SingaError) as err:
        call(shard, name, sid, size)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert "server 0 of server group 0" in str(err.value)


def test_shard_refuses_a_step_while_another_waits(shard: Shard) -> None:
    name, sid, size = first_slice(shard)
    assert not shard.update(0, 3, name, sid, np.zeros(size, np.float32), 3)
    with pytest.raises(SingaError, match="sent step 4 while step 3 waits for 1 of its 4 shares"):
        shard.update(0, 4, name, sid, np.zeros(size, np.float32))


def test_two_groups_halves_make_no_update(tmp_path: Path) -> None:
    """Downpour: two worker groups share one server group; each group's update waits for its own four
    shares, however the groups' pushes interleave (SINGA v0.1 counted them together)."""
    plan = compile_job(tmp_path, mlp(), "nworker_groups: 2 nworkers_per_group: 4", PLAIN_SGD)
    shard = in_process_servers(plan, {e.name: np.zeros(e.shape, np.float32) for e in plan.params})[0, 0]
    name, sid, size = first_slice(shard)
    half = np.ones(size, np.float32)
    assert not shard.update(0, 0, name, sid, half, 2)
    assert not shard.update(1, 0, name, sid, half, 2)
    assert shard.updates(name, sid) == {}
    assert shard.update(1, 0, name, sid, half, 2)
    assert shard.updates(name, sid) == {1: 1}
    np.testing.assert_array_equal(shard.get(1, name, sid, 1), np.full(size, -0.05 * 2, np.float32))
    assert shard.update(0, 0, name, sid, half, 2)
    assert shard.updates(name, sid) == {0: 1, 1: 1}


class InFlight:
    """A master that, while a sync is on its way, lets the non-master apply another update (as a
    worker group's push would, the sync being a network call that holds no lock)."""

    def __init__(self, master: Shard, during: Callable[[], None]) -> None:
        self.master, self.during = master, during

    def sync(self, name: str, slice_id: int, delta: np.ndarray) -> np.ndarray:
        self.during()
        return self.master.sync(name, slice_id, delta)


def test_a_sync_keeps_the_update_made_while_it_was_away(tmp_path: Path) -> None:
    plan = compile_job(tmp_path, mlp(), HOGWILD % 1, PLAIN_SGD)
    shards = in_process_servers(plan, {e.name: np.zeros(e.shape, np.float32) for e in plan.params})
    (name, sid), held = next((k, h) for k, h in shards[1, 0].held.items() if h.spec.master_group == 0)
    ones = np.ones(held.spec.size, np.float32)
    shards[1, 0].connect({0: InFlight(shards[0, 0], lambda: shards[1, 0].update(1, 1, name, sid, ones))})
    shards[1, 0].update(1, 0, name, sid, ones)
    master = shards[0, 0].held[name, sid].value
    np.testing.assert_array_equal(master, np.full_like(ones, -0.05))  # the first update's delta only
    np.testing.assert_array_equal(held.value, master - np.float32(0.05))  # plus the one made meanwhile


def test_the_group_that_made_a_sync_due_reads_after_the_sync(tmp_path: Path) -> None:
    """While the sync is away the group's next values are not served (its reader waits), and once it is
    back they are the master's: the group never trains on a replica that has missed a due sync."""
    plan = compile_job(tmp_path, mlp(), HOGWILD % 1, PLAIN_SGD)
    shards = in_process_servers(plan, {e.name: np.zeros(e.shape, np.float32) for e in plan.params})
    (name, sid), held = next((k, h) for k, h in shards[1, 0].held.items() if h.spec.master_group == 0)
    ones = np.ones(held.spec.size, np.float32)
    seen: list[str] = []

    def read_while_away() -> None:
        with pytest.raises(SingaError, match="waited 0 s for step 1's values") as err:
            shards[1, 0].get(1, name, sid, 1, timeout=0)
        seen.append(str(err.value))

    shards[0, 0].update(0, 0, name, sid, ones)  # the master moved on meanwhile
    shards[1, 0].connect({0: InFlight(shards[0, 0], read_while_away)})
    shards[1, 0].update(1, 0, name, sid, ones)
    assert len(seen) == 1
    np.testing.assert_array_equal(shards[1, 0].get(1, name, sid, 1), np.full_like(ones, -0.1))
    assert shards[1, 0].syncs(name, sid) == shards[0, 0].syncs(name, sid) == 1


@pytest.mark.parametrize("updater", ["momentum", "adam"])
def test_slices_of_one_param_on_one_server_update_as_the_whole(updater: str) -> None:
    conf = text_format.Parse(UPDATERS[updater], job_pb2.UpdaterProto())
    cuts = [Slice("w", 0, 0, 5, 0, 0), Slice("w", 1, 5, 7, 0, 0)]
    shard = Shard(0, 0, cuts, {"w": 1}, Updater(conf), {"w": (1.0, 1.0)})
    whole, ref = np.linspace(-1, 1, 12, dtype=np.float32), Updater(conf)
    for s in cuts:
        shard.put("w", s.slice_id, whole[s.offset:s.offset + s.size])
    for n in range(3):
        grad = np.cos(whole * (n + 1)).astype(np.float32)
        for s in cuts:
            shard.update(0, n, "w", s.slice_id, grad[s.offset:s.offset + s.size].copy())
        ref.update(n, "w", whole, grad)
    got = np.concatenate([shard.get(0, "w", s.slice_id, 3) for s in cuts])
    np.testing.assert_array_equal(got, whole)
