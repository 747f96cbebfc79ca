"""The multi-process params path: a param's push and pull run while the step goes on and are awaited at
its end (RemoteUpdates), and a client keeps one shared-memory segment per slice and direction for the run
instead of making one per call."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
from singart import store
from singart.distributed.params_rpc import GrpcParamClient
from singart.distributed.remote_updates import RemoteUpdates
from singart.params.client import InProcessClient, in_process_servers
from singart.params.slicing import flat_part, slice_table
from singart.params.updaters import Updater

from .params_driver import compile_job
from .params_rpc_util import TOKEN, save, servers
from .test_params_split import PLAIN_SGD, SYNC_GROUP, mlp


def test_a_pull_waiting_for_other_shares_does_not_hold_up_the_step(tmp_path: Path) -> None:
    """Half the group's shares pushed by this process: whole() returns at once (the pull waits on its
    own thread); once the other half is in, finish() leaves the updated values in place."""
    plan = compile_job(tmp_path, mlp(), SYNC_GROUP, PLAIN_SGD)
    values = store.init_values(plan)
    shards = in_process_servers(plan, values)
    client = InProcessClient(plan, shards)
    entry = next(e for e in plan.params if not e.share_from and e.num_shares == 4)
    name, value = entry.name, values[entry.name].copy()
    updates = RemoteUpdates(plan, Updater(plan.job.updater), client, 0, Counter({name: 2}))
    grad = np.ones_like(value)
    updates.whole(0, name, value, grad)  # before the other half is pushed: blocking here would never end
    client.push(0, 0, name, grad, 2)
    updates.finish(0)
    want = np.empty_like(value)
    client.pull(0, 1, name, want)
    np.testing.assert_array_equal(value, want)
    assert not np.array_equal(value, values[name])  # the update happened


def memfds() -> int:
    """Tensor segments this process holds open (distinct files: a mapping holds a second fd of one)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        path = f"/proc/self/fd/{fd}"
        try:
            if os.readlink(path).startswith("/memfd:singa-tensor"):
                found.add(os.stat(path).st_ino)
        except OSError:
            continue  # the listing's own fd, closed by now
    return len(found)


def test_a_client_keeps_one_segment_per_slice_and_direction(tmp_path: Path) -> None:
    plan = compile_job(tmp_path, mlp(), SYNC_GROUP, PLAIN_SGD)
    name = next(e.name for e in plan.params if not e.share_from and len(e.slices) > 1)
    nslices = len(slice_table(plan)[name])
    shape = tuple(next(e.shape for e in plan.params if e.name == name))
    with servers(save(plan, tmp_path)) as (book, _):
        client = GrpcParamClient(plan, book, TOKEN)
        before = memfds()
        got = []
        for step in range(3):
            grad = np.full(shape, step + 1, np.float32)
            client.push(0, step, name, grad, 4)
            out = np.empty(shape, np.float32)
            client.pull(0, step + 1, name, out)
            got.append(out)
            assert memfds() - before == 2 * nslices  # kept, and not one more per call
        client.close()
        assert memfds() == before
    # the values that came back through the kept segments are each step's own
    assert not np.array_equal(got[0], got[1]) and not np.array_equal(got[1], got[2])
    s = slice_table(plan)[name][0]
    np.testing.assert_allclose(flat_part(got[1], s) - flat_part(got[2], s), 0.05 * 3,  # PLAIN_SGD: lr 0.05, step 2 pushed 3s
                               rtol=1e-4)
