"""Clipping on the servers, for a worker group in several processes: two processes (threads here) push
their halves of two params' gradients to two shards; each process's `clip` waits for the other, both
compute one scale, and the update equals SGD on the summed gradients scaled by PyTorch's rule. A
process that never finishes its step, or shares that never come, give one-line errors."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from singa_proto import job_pb2
from singart import SingaError
from singart.params.client import InProcessClient
from singart.params.shard import Shard
from singart.params.slicing import Slice
from singart.params.updaters import Updater

LR, CLIP = 0.5, 1.0
SIZES = {"a": 6, "b": 4}  # param "a" lives on server 0, "b" on server 1


def shards(procs: int | None = 2) -> dict[tuple[int, int], Shard]:
    """The two shards; `procs`: worker group 0's processes (None: the job does not clip)."""
    clip_procs = None if procs is None else {0: procs}
    conf = job_pb2.UpdaterProto(type=job_pb2.kSGD, clip_norm=CLIP)
    conf.learning_rate.type = job_pb2.kFixed
    conf.learning_rate.base_lr = LR
    made = {}
    for server, name in enumerate(SIZES):
        held = [Slice(name, 0, 0, SIZES[name], server, 0)]
        shard = Shard(0, server, held, {n: 2 for n in SIZES}, Updater(conf), {}, clip_procs=clip_procs)
        shard.put(name, 0, np.zeros(SIZES[name], np.float32))
        made[0, server] = shard
    return made


class Client(InProcessClient):
    """InProcessClient without a plan: the two shards, one server group, one worker group."""

    def __init__(self, made: dict[tuple[int, int], Shard]) -> None:
        self.shards, self.ngroups = made, (1, 1)
        self.slices = {n: [Slice(n, 0, 0, size, server, 0)] for server, (n, size) in enumerate(SIZES.items())}


def halves(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=size).astype(np.float32) for name, size in SIZES.items()}


def process(client: Client, grads: dict[str, np.ndarray], scales: list[float]) -> None:
    """One worker process's step: push its gradients (one share each), clip, pull."""
    for name, grad in grads.items():
        client.push(0, 0, name, grad, 1)
    scales.append(client.clip(0, 0, CLIP))


def test_two_processes_clip_the_summed_gradient_once() -> None:
    made = shards()
    client, mine, theirs = Client(made), halves(1), halves(2)
    scales: list[float] = []
    other = threading.Thread(target=process, args=(client, theirs, scales))
    other.start()
    process(client, mine, scales)
    other.join(10)
    assert not other.is_alive()
    summed = {n: mine[n] + theirs[n] for n in SIZES}
    norm = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in summed.values()))
    assert norm > 2 * CLIP  # the clip bites
    assert scales == [pytest.approx(CLIP / (norm + 1e-6), rel=1e-6)] * 2
    for name, grad in summed.items():
        got = np.empty(SIZES[name], np.float32)
        client.pull(0, 1, name, got)
        np.testing.assert_allclose(got, -LR * grad * CLIP / norm, rtol=1e-5)
        assert made[0, list(SIZES).index(name)].updates(name, 0) == {0: 1}  # one update, not two


def test_a_held_gradient_is_not_published_before_the_scale() -> None:
    made = shards()
    for name, grad in halves(3).items():
        shard = made[0, list(SIZES).index(name)]
        assert [shard.update(0, 0, name, 0, grad) for _ in range(2)] == [False, True]
    with pytest.raises(SingaError, match="waited 0.1 s for step 1's values; its last update was step -1"):
        made[0, 0].get(0, "a", 0, 1, timeout=0.1)


def test_a_process_that_never_asks_is_named() -> None:
    made = shards()
    with pytest.raises(SingaError) as err:
        made[0, 0].square_sum(0, 0, timeout=0.1)
    assert str(err.value) == ("server 0 of server group 0: 1 of worker group 0's 2 processes finished step 0 "
                              "within 0.1 s")


def test_missing_shares_are_an_error_for_every_process() -> None:
    made = shards(1)
    made[0, 0].update(0, 0, "a", 0, np.ones(SIZES["a"], np.float32))  # 1 of its 2 shares
    with pytest.raises(SingaError, match="param 'a' slice 0: worker group 0 finished step 0 with 1 of its 2 "
                                         "shares in"):
        made[0, 0].square_sum(0, 0)


def test_square_sums_when_nothing_clips_are_refused() -> None:
    with pytest.raises(SingaError, match="the plan does not clip gradients"):
        shards(None)[0, 0].square_sum(0, 0)
