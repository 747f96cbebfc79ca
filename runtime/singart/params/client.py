"""How a process reaches the servers: push a param's gradient, pull its values, by name.

`ParamClient` is the whole interface; only names, ints and float32 arrays of a param's full shape cross
it, so an implementation over gRPC fits behind it unchanged. `InProcessClient` reaches `Shard` objects
directly: it cuts a gradient into the plan's slices and hands each to the server that owns it, and
fills a values array slice by slice.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np
from singa_proto import plan_pb2

from .. import SingaError
from .shard import Shard
from .slicing import Slice, flat_part, server_group_of, slice_table
from .updaters import clip_factor


class ParamClient(Protocol):
    """A worker process's view of the servers."""

    def push(self, wgroup: int, step: int, name: str, grad: np.ndarray, shares: int) -> None:
        """Send worker group `wgroup`'s gradient of owner param `name` at `step`, the sum of `shares`
        of the group's shares of it."""
        ...

    def pull(self, wgroup: int, step: int, name: str, out: np.ndarray) -> None:
        """Fill `out` with the values of `name` that `wgroup` uses at `step` (after its step - 1 update)."""
        ...

    def clip(self, wgroup: int, step: int, clip_norm: float) -> float:
        """With the servers clipping (a worker group in several processes): after this process's pushes
        of `step`, have the servers apply `wgroup`'s held gradients of the step scaled to a global norm
        of at most `clip_norm`; the scale. Every process of the group calls it."""
        ...


class InProcessClient:
    """A ParamClient over shards in this process, keyed by (server group, server id)."""

    def __init__(self, plan: plan_pb2.PlanProto, shards: dict[tuple[int, int], Shard]) -> None:
        self.slices = slice_table(plan)
        self.shards = shards
        cluster = plan.job.cluster
        self.ngroups = (cluster.nworker_groups, cluster.nserver_groups)

    def push(self, wgroup: int, step: int, name: str, grad: np.ndarray, shares: int) -> None:
        """Each slice of the gradient to its server."""
        sgroup = server_group_of(wgroup, *self.ngroups)
        for s in self._slices(name, grad):
            self.shards[sgroup, s.server].update(wgroup, step, name, s.slice_id, flat_part(grad, s), shares)

    def pull(self, wgroup: int, step: int, name: str, out: np.ndarray) -> None:
        """Each slice of the values from its server, straight into `out`."""
        sgroup = server_group_of(wgroup, *self.ngroups)
        for s in self._slices(name, out):
            self.shards[sgroup, s.server].get(wgroup, name, s.slice_id, step, out=flat_part(out, s))

    def clip(self, wgroup: int, step: int, clip_norm: float) -> float:
        """The square sums of the group's servers in server order, then the one scale applied by each."""
        sgroup = server_group_of(wgroup, *self.ngroups)
        servers = [self.shards[key] for key in sorted(self.shards) if key[0] == sgroup]
        scale = clip_factor(sum(shard.square_sum(wgroup, step) for shard in servers), clip_norm)
        for shard in servers:
            shard.apply(wgroup, step, scale)
        return scale

    def _slices(self, name: str, array: np.ndarray) -> list[Slice]:
        slices = self.slices.get(name)
        if slices is None:
            raise SingaError(f"param {name!r}: not an owner param of the plan")
        size = sum(s.size for s in slices)
        if array.size != size or not array.flags.c_contiguous:
            raise SingaError(f"param {name!r}: an array of {array.size} floats "
                             f"({'' if array.flags.c_contiguous else 'not '}contiguous), the param has {size}")
        return slices


def in_process_servers(plan: plan_pb2.PlanProto, values: dict[str, np.ndarray],
                       step: int = 0) -> dict[tuple[int, int], Shard]:
    """Every server group's shards, each holding `values` before `step`, masters connected for sync."""
    cluster = plan.job.cluster
    shards = {(g, s): Shard.from_plan(plan, g, s) for g in range(max(1, cluster.nserver_groups))
              for s in range(max(1, cluster.nservers_per_group))}
    table = slice_table(plan)
    for (g, server), shard in shards.items():
        for s in (s for slices in table.values() for s in slices if s.server == server):
            shard.put(s.param, s.slice_id, flat_part(values[s.param], s), step)
        shard.connect({m: shards[m, server] for m in range(max(1, cluster.nserver_groups))})
    return shards
