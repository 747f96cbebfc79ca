"""A params client whose one call fans out to more servers than a fixed pool of 64 threads held: a
pull of a param sliced over 70 servers waits for the step's update while holding a thread per server,
and the push that releases it needs threads of the same pool. The servers are one process's, each
reached at an address of its own on loopback (127.0.0.N), as distinct server processes would be."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from singart import store
from singart.distributed.params_rpc import (
    GrpcParamClient,
    fanout_threads,
    hosted_servers,
    local_shards,
    params_server,
)
from singart.params.slicing import slice_table

from .params_driver import compile_job
from .params_rpc_util import TOKEN

SERVERS = 70
LR = 0.5
JOB = """name: "wide" train_steps: 1 seed: 3 train_one_batch { alg: kBP }
neuralnet {
  layer { name: "data" type: kShardData sharddata_conf { path: "shard" batchsize: 8 shape: 6 shape: 6 } }
  layer { name: "mnist" type: kMnist srclayers: "data" mnist_conf { norm_a: 255 norm_b: 0.5 } }
  layer { name: "label" type: kLabel srclayers: "data" }
  layer { name: "fc" type: kInnerProduct srclayers: "mnist" innerproduct_conf { num_output: 70 }
    param { name: "w" init { type: kUniform low: -0.3 high: 0.3 } } param { name: "b" } }
  layer { name: "loss" type: kSoftmaxLoss srclayers: "fc" srclayers: "label" }
}
"""
CLUSTER = (f"nworkers_per_group: 1 nservers_per_group: {SERVERS} nservers_per_procs: {SERVERS} "
           "server_worker_separate: true")
UPDATER = f"type: kSGD learning_rate {{ type: kFixed base_lr: {LR} }}"
WAIT_S = 120.0  # far beyond a pull and a push on loopback: a call not done by then waits for ever


def fanout_alive() -> int:
    return sum(t.name.startswith("params-fanout") for t in threading.enumerate())


def test_a_pull_over_more_servers_than_64_threads_does_not_hold_up_the_push(tmp_path: Path) -> None:
    plan = compile_job(tmp_path, JOB, CLUSTER, UPDATER)
    spread = len({s.server for s in slice_table(plan)["w"]})
    assert spread > 65 and fanout_threads(plan) >= 2 * (spread - 1)
    (rank,) = [r.rank for r in plan.roles if r.servers]
    executors = hosted_servers(plan, rank)
    server, bound = params_server(plan, local_shards(plan, executors), TOKEN,
                                  [f"127.0.0.{i + 1}:0" for i in range(len(executors))])
    server.start()
    client = GrpcParamClient(plan, dict(zip(executors, bound)), TOKEN, shared_memory=False)
    init = store.init_values(plan)
    got, errors = np.empty_like(init["w"]), []

    def pull() -> None:
        try:
            client.pull(0, 1, "w", got)  # waits for the update of step 0
        except BaseException as err:  # noqa: BLE001 -- checked on the test's thread
            errors.append(err)

    puller = threading.Thread(target=pull, daemon=True)
    try:
        puller.start()
        deadline = time.monotonic() + WAIT_S
        while fanout_alive() < 64 and time.monotonic() < deadline:  # the pull holds its threads
            time.sleep(0.01)
        assert fanout_alive() >= 64, "the pull never held 64 fan-out threads: the test would prove nothing"
        pusher = threading.Thread(target=client.push, args=(0, 0, "w", np.ones_like(init["w"]), 1), daemon=True)
        pusher.start()
        for t in (pusher, puller):
            t.join(max(0.0, deadline + WAIT_S - time.monotonic()))
        assert not pusher.is_alive() and not puller.is_alive(), "the push waited behind the pull"
    finally:
        server.stop(0)
        client.close()
    assert not errors, errors[0]
    np.testing.assert_allclose(got, init["w"] - LR, rtol=1e-6)
