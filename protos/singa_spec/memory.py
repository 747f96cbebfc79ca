"""How much memory a plan's run holds, from the plan alone (nothing is allocated): per worker, per layer
and for the whole process.

The count follows what the runtime touches (footprints.py has the per-node rules): every owner param's
values once per process (worker groups and the evaluation nets share them), the updater's state per
rule, each group's gradients, each node's output and the buffers its forward and backward keep at the
batch size, the evaluation nets' forward buffers, and every data shard, which is decoded into memory
whole. Every byte is counted once, at one (worker, layer): a param its workers share at the first
worker that uses it. `singac` prints it; `singart run` refuses a plan that cannot fit.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from singa_proto import job_pb2, plan_pb2

from . import footprints
from .footprints import FLOAT, Net, nbytes

# The interpreter, NumPy, protobuf and the kernels' library, loaded before any tensor is made (peak
# RSS of a process that has imported the runtime and run one kernel: 53 MiB, rounded up).
BASELINE = 64 << 20
# Decoding a shard holds the file's bytes and each record's bytes beside the arrays, before any
# activation is made: it passes, and the peak is what the run keeps plus the decode less the activations
# not yet made. (A checkpoint is written from views of the arrays and adds nothing.)
DECODE_COPIES = 2
PARTS = ("params", "grads", "updater", "activations", "data")
# The updater's kept arrays per param, each the param's size: history slots, and the two scratch
# buffers of the rules that are not one fused pass (params/updaters.py).
UPDATER_ARRAYS = {"kSGD": 1, "kNesterov": 3, "kAdaGrad": 3, "kRMSProp": 3, "kAdam": 4}


class Usage:
    """Bytes by part for each user layer."""

    def __init__(self) -> None:
        self.layers: dict[str, Counter[str]] = {}

    def add(self, layer: str, part: str, n: int) -> None:
        if n:
            self.layers.setdefault(layer, Counter())[part] += n

    def merge(self, other: Usage, times: int = 1) -> None:
        for layer, parts in other.layers.items():
            for part, n in parts.items():
                self.add(layer, part, n * times)

    def part(self, name: str) -> int:
        return sum(p[name] for p in self.layers.values())

    def total(self) -> int:
        return sum(sum(p.values()) for p in self.layers.values())

    def top(self, n: int) -> list[tuple[str, Counter[str]]]:
        """The `n` layers holding the most, biggest first."""
        return sorted(self.layers.items(), key=lambda kv: -sum(kv[1].values()))[:n]


@dataclass
class Estimate:
    """A plan's memory: each train worker's share of one group, and the whole process."""

    workers: dict[int, Usage] = field(default_factory=dict)
    process: Usage = field(default_factory=Usage)
    groups: int = 1
    baseline: int = BASELINE
    passing: dict[str, int] = field(default_factory=dict)  # "decode": bytes above the rest, for a moment

    @property
    def total(self) -> int:
        """Bytes the process needs at its peak, baseline included."""
        return self.process.total() + self.baseline + max(self.passing.values(), default=0)


def updater_arrays(conf: job_pb2.UpdaterProto) -> int:
    """How many param-sized arrays the updater keeps per param it updates (SGD: its history, made even
    without momentum)."""
    return UPDATER_ARRAYS.get(job_pb2.UpdaterType.Name(conf.type), 1)


def foldable(conf: job_pb2.UpdaterProto) -> bool:
    """Whether inner products write the update straight into the weight (no gradient is kept)."""
    return conf.type == job_pb2.kSGD and conf.momentum <= 0


def estimate(plan: plan_pb2.PlanProto) -> Estimate:
    """The memory a run of `plan` holds in one process (raises nothing on a plan the compiler wrote)."""
    est = Estimate(groups=max(1, plan.job.cluster.nworker_groups))
    train = next((g for g in plan.graphs if g.phase == job_pb2.kTrain), None)
    group = Usage()
    if train is not None:
        net = Net(train, True, plan.params)
        grads = footprints.Gradients(net, foldable(plan.job.updater) and est.groups == 1)
        for w in net.workers():
            est.workers[w] = _worker(plan, net, grads, w)
            group.merge(est.workers[w])
    for part in ("params", "updater"):  # held once per process, whatever the number of groups
        for layer, parts in group.layers.items():
            est.process.add(layer, part, parts[part])
    for part in ("grads", "activations"):  # each group has its own
        for layer, parts in group.layers.items():
            est.process.add(layer, part, parts[part] * est.groups)
    for g in plan.graphs:
        if g.phase != job_pb2.kTrain:  # the evaluation nets: forward buffers only
            evaluation = Net(g, False, plan.params)
            for node in g.nodes:
                est.process.add(node.origin or node.name, "activations", footprints.node_bytes(evaluation, node))
    decode = _add_data(plan, est.process)
    est.passing["decode"] = max(0, decode - est.process.part("activations"))
    return est


def _worker(plan: plan_pb2.PlanProto, net: Net, grads: footprints.Gradients, worker: int) -> Usage:
    """Worker `worker`'s share of one train group: its nodes' buffers, and the params it uses first."""
    usage = Usage()
    first = net.first_users()
    arrays = updater_arrays(plan.job.updater)
    for node in net.graph.nodes:
        if node.worker != worker:
            continue
        layer = node.origin or node.name
        usage.add(layer, "activations", footprints.node_bytes(net, node))
        for ref in node.params:
            owner = grads.owner(ref.param)
            usage.add(layer, "params", footprints.block_copy(ref, net))
            usage.add(layer, "grads", grads.buffer(ref))
            if first.get(owner) == node.name:
                size = nbytes(net.param_shape(owner))
                usage.add(layer, "params", size)
                usage.add(layer, "updater", 0 if grads.folded(owner) else size * arrays)
                usage.add(layer, "grads", grads.store(owner))
    for entry in plan.params:  # values the train net never reads (an evaluation net's own params)
        if not entry.share_from and entry.name not in first and worker == min(net.workers()):
            usage.add(entry.layer, "params", nbytes(tuple(entry.shape)))
    return usage


def shard_bytes(path: str) -> int:
    """The size of a shard's records file (0 when it is not there): decoded, a shard holds about as
    much (pixels as bytes, floats as floats)."""
    try:
        return os.stat(Path(path) / "shard.dat").st_size
    except OSError:
        return 0


def _add_data(plan: plan_pb2.PlanProto, usage: Usage) -> int:
    """Add every shard read, once (all partitions and nets share one decoded copy); returns the peak of
    decoding the largest."""
    shards: dict[str, str] = {}
    for g in plan.graphs:
        for node in g.nodes:
            if node.kind == plan_pb2.kCompute and node.conf.type == job_pb2.kShardData:
                shards.setdefault(os.path.realpath(node.conf.sharddata_conf.path), node.origin or node.name)
    sizes = {path: shard_bytes(path) for path in shards}
    for path, layer in shards.items():
        usage.add(layer, "data", sizes[path])
    return DECODE_COPIES * max(sizes.values(), default=0)


def human(n: float) -> str:
    """Bytes in binary units with one decimal: '1.2 GiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # not reached


def describe(parts: Counter[str]) -> str:
    """A layer's biggest parts in words: '29.8 GiB of params and grads'."""
    ranked = [(p, n) for p, n in parts.most_common() if n]
    total = sum(n for _, n in ranked)
    names = [ranked[0][0]] + [p for p, n in ranked[1:2] if n * 4 >= total]
    return f"{human(sum(parts[p] for p in names))} of {' and '.join(names)}"


__all__ = ["BASELINE", "FLOAT", "PARTS", "Estimate", "Usage", "describe", "estimate", "human"]
