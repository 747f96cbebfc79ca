"""A params server process under more waiting pulls than a fixed pool of 64 threads held: a plan of many
small params and four worker processes, each process pulling every param at once before the gradients
that release those pulls arrive, as a worker that overlaps its pulls does."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from singart import store
from singart.distributed.params_rpc import GrpcParamClient, params_threads
from singart.params.slicing import slice_table

from .params_driver import compile_job
from .params_rpc_util import TOKEN, save, servers

LAYERS = 12  # inner-product layers, a weight and a bias each
LR = 0.5
HEAD = """name: "many-params" train_steps: 1 seed: 3 train_one_batch { alg: kBP }
neuralnet {
  layer { name: "data" type: kShardData sharddata_conf { path: "shard" batchsize: 8 shape: 6 shape: 6 } }
  layer { name: "mnist" type: kMnist srclayers: "data" mnist_conf { norm_a: 255 norm_b: 0.5 } }
  layer { name: "label" type: kLabel srclayers: "data" }
"""
FC = """  layer {{ name: "fc{i}" type: kInnerProduct srclayers: "{src}" innerproduct_conf {{ num_output: 3 }}
    param {{ name: "w{i}" init {{ type: kUniform low: -0.3 high: 0.3 }} }} param {{ name: "b{i}" }} }}
"""
TAIL = f'  layer {{ name: "loss" type: kSoftmaxLoss srclayers: "fc{LAYERS - 1}" srclayers: "label" }}\n}}\n'
CLUSTER = "nworkers_per_group: 4 nworkers_per_procs: 1 server_worker_separate: true"
UPDATER = f"type: kSGD learning_rate {{ type: kFixed base_lr: {LR} }}"


def many_params() -> str:
    """A chain of LAYERS small inner-product layers: 2 * LAYERS params."""
    fcs = [FC.format(i=i, src="mnist" if i == 0 else f"fc{i - 1}") for i in range(LAYERS)]
    return HEAD + "".join(fcs) + TAIL


def test_more_waiting_pulls_than_64_all_get_their_values(tmp_path: Path) -> None:
    plan = compile_job(tmp_path, many_params(), CLUSTER, UPDATER)
    nprocs = len([r for r in plan.roles if r.workers])
    names = sorted(slice_table(plan))
    assert nprocs == 4 and nprocs * sum(len(s) for s in slice_table(plan).values()) > 64
    assert params_threads(plan, [(0, 0)]) >= nprocs * len(names)
    init = store.init_values(plan)
    got = {(p, n): np.empty_like(init[n]) for p in range(nprocs) for n in names}
    errors: list[BaseException] = []
    with servers(save(plan, tmp_path)) as (book, counts):
        clients = [GrpcParamClient(plan, book, TOKEN) for _ in range(nprocs)]

        def pull(p: int, name: str) -> None:
            try:
                clients[p].pull(0, 1, name, got[p, name])  # waits for the update of step 0
            except BaseException as err:  # noqa: BLE001 -- checked on the test's thread
                errors.append(err)

        pulls = [threading.Thread(target=pull, args=key) for key in got]
        for t in pulls:
            t.start()
        time.sleep(1.0)  # let the pulls reach the server first; none can be answered before the pushes
        assert all(t.is_alive() for t in pulls) and not errors, errors  # all waiting, none refused
        for p, client in enumerate(clients):
            for name in names:
                client.push(0, 0, name, np.full_like(init[name], p + 1), 1)
        for t in pulls:
            t.join(120)
        for client in clients:
            client.close()
    assert not any(t.is_alive() for t in pulls), "pulls still waiting after 120 s"
    assert not errors, errors[0]
    assert len(counts) == len(names) and all(c == {"0": 1} for c in counts.values()), counts
    for (p, name), value in got.items():  # each pull sees the one update: the sum 1+2+3+4 of the gradients
        np.testing.assert_allclose(value, init[name] - LR * 10, rtol=1e-6, err_msg=f"process {p} {name}")
