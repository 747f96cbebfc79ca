"""Params over gRPC: the split's shards in server processes, reached by GrpcParamClient, give the same
values as ParamStore bit for bit for every updater rule, over shared memory and over plain gRPC; four
worker processes make exactly one update per step; Hogwild syncs cross processes; refusals are one line."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from singa_proto import plan_pb2
from singart import SingaError
from singart.distributed.params_rpc import GrpcParamClient

from .params_driver import compile_job, oracle, run_groups
from .params_rpc_util import TOKEN, grpc_split, save, servers, workers
from .test_params_split import HOGWILD, LENET, NETS, PLAIN_SGD, SYNC_GROUP, UPDATERS, mlp


@pytest.mark.parametrize("updater", list(UPDATERS))
@pytest.mark.parametrize("net", list(NETS))
def test_split_over_grpc_matches_param_store(net: str, updater: str, tmp_path: Path) -> None:
    text, steps = NETS[net]
    plan = compile_job(tmp_path, text, SYNC_GROUP, UPDATERS[updater])
    want = oracle(plan, steps)
    with servers(save(plan, tmp_path)) as (book, _):
        assert len(set(book.values())) == 2, book
        got = grpc_split(plan, [[0, 1], [2, 3]], book).run(steps)
    for name, value in want.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


def test_plain_grpc_matches_param_store(tmp_path: Path) -> None:
    plan = compile_job(tmp_path, LENET, SYNC_GROUP, UPDATERS["adam"])
    want = oracle(plan, 2)
    with servers(save(plan, tmp_path)) as (book, _):
        got = grpc_split(plan, [[0, 1], [2, 3]], book, shared_memory=False).run(2)
    for name, value in want.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


STEPS = 200


def test_four_worker_processes_make_one_update_per_step(tmp_path: Path) -> None:
    plan = compile_job(tmp_path, mlp(), SYNC_GROUP, UPDATERS["momentum"])
    path = save(plan, tmp_path)
    with servers(path) as (book, counts):
        procs = workers(path, book, [0, 1, 2, 3], STEPS)
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        client = GrpcParamClient(plan, book, TOKEN)
        got = {e.name: np.empty(tuple(e.shape), np.float32) for e in plan.params if not e.share_from}
        for name, arr in got.items():
            client.pull(0, STEPS, name, arr)
    assert len(counts) > len(plan.params), "no param was cut into several slices"
    assert all(c == {"0": STEPS} for c in counts.values()), counts
    want = oracle(plan, STEPS)  # no update lost or doubled: the values agree too
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_hogwild_sync_between_server_processes(tmp_path: Path) -> None:
    """Groups 0 and 1 take turns as in run_groups; the master group's server is in another process."""
    plan = compile_job(tmp_path, mlp(), HOGWILD % 2, PLAIN_SGD)
    targets, steps = [1.0, -1.0], 20
    want = run_groups(plan, targets, steps)
    with servers(save(plan, tmp_path)) as (book, _):
        client = GrpcParamClient(plan, book, TOKEN)
        w = {e.name: np.empty(tuple(e.shape), np.float32) for e in plan.params if not e.share_from}
        shares = {e.name: e.num_shares for e in plan.params}
        for n in range(steps):
            for g, target in enumerate(targets):
                for name, arr in w.items():
                    client.pull(g, n, name, arr)
                    client.push(g, n, name, (arr - np.float32(target)).astype(np.float32), shares[name])
        for (g, name), value in want.items():
            client.pull(g, steps, name, w[name])
            np.testing.assert_array_equal(w[name].reshape(-1), value, err_msg=f"group {g} {name}")
    assert all(book[0, s] != book[1, s] for s in (0, 1)), "a slice's replicas share a process"


@pytest.fixture()
def sgd_plan(tmp_path: Path) -> plan_pb2.PlanProto:
    return compile_job(tmp_path, mlp(), SYNC_GROUP, PLAIN_SGD)


def one_line(err: pytest.ExceptionInfo[SingaError], *words: str) -> None:
    text = str(err.value)
    assert "\n" not in text and all(w in text for w in words), text


def test_a_gradient_of_the_wrong_size_is_one_line_naming_the_param(sgd_plan: plan_pb2.PlanProto,
                                                                   tmp_path: Path) -> None:
    other = plan_pb2.PlanProto()
    other.CopyFrom(sgd_plan)  # a client whose plan cuts w1 otherwise: the server refuses the slice
    cut = next(e for e in other.params if e.name == "w1").slices
    cut[0].size, cut[1].offset, cut[1].size = cut[0].size + 1, cut[1].offset + 1, cut[1].size - 1
    with servers(save(sgd_plan, tmp_path)) as (book, counts):
        client = GrpcParamClient(sgd_plan, book, TOKEN)
        with pytest.raises(SingaError) as err:
            client.push(0, 0, "w1", np.zeros(10, np.float32), 4)
        one_line(err, "param 'w1'", "10 float32", "576")
        with pytest.raises(SingaError) as err:
            GrpcParamClient(other, book, TOKEN).push(0, 0, "w1", np.zeros((16, 36), np.float32), 4)
        one_line(err, "refused", "param 'w1'", "gradient of 467 floats, the slice has 466")
    assert all(c == {} for c in counts.values()), counts


def test_a_client_without_the_token_is_refused_in_one_line(sgd_plan: plan_pb2.PlanProto, tmp_path: Path) -> None:
    with servers(save(sgd_plan, tmp_path)) as (book, _):
        with pytest.raises(SingaError) as err:
            GrpcParamClient(sgd_plan, book, "not-the-job-token-at-all").pull(0, 0, "b1", np.empty(16, np.float32))
        one_line(err, "param 'b1'", "UNAUTHENTICATED")


def test_put_values_are_what_a_later_step_pulls(sgd_plan: plan_pb2.PlanProto, tmp_path: Path) -> None:
    """Put sets values as of a step (a resumed run's checkpoint); the servers drew step 0's themselves."""
    values = np.arange(16 * 36, dtype=np.float32).reshape(16, 36)
    with servers(save(sgd_plan, tmp_path)) as (book, _):
        client = GrpcParamClient(sgd_plan, book, TOKEN)
        client.put("w1", values, step=7)
        got = np.empty_like(values)
        client.pull(0, 7, "w1", got)
    np.testing.assert_array_equal(got, values)
