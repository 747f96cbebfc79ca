"""The updater's history of a multi-process run, which lives in the servers, as checkpoints hold it.

The servers keep it per slice (`param#slice`) and per server group; a checkpoint holds it per param
under the names the one-process run's updater gives it (`param/slot`, `param/count`), each slot the
param's slices joined in offset order and shaped as the param: server group 0's under those names, group
g's under `group<g>/` (checkpoint.group_key), so that either kind of run resumes from the other's
checkpoints (one process keeps one history: it takes group 0's; a group the checkpoint lacks, too).
"""
from __future__ import annotations

import numpy as np
from singa_proto import job_pb2, plan_pb2

from ..checkpoint import by_group, group_key
from ..params.updaters import SLOTS
from .params_rpc import GrpcParamClient


def keeps_history(conf: job_pb2.UpdaterProto) -> bool:
    """Whether the rule carries history from step to step (plain SGD does not)."""
    return conf.type != job_pb2.kSGD or conf.momentum > 0


class ServerHistory:
    """Checkpoints' view of the servers' history: `state` gathers every server group's, `load_state`
    puts each group's back into that group (as an Updater's state and load_state do in one process)."""

    def __init__(self, plan: plan_pb2.PlanProto, client: GrpcParamClient) -> None:
        self.client = client
        self.kind = job_pb2.UpdaterType.Name(plan.job.updater.type)
        self.slots = SLOTS.get(self.kind, ()) if keeps_history(plan.job.updater) else ()
        self.shapes = {e.name: tuple(int(d) for d in e.shape) for e in plan.params if not e.share_from}
        self.groups = max(1, plan.job.cluster.nserver_groups)
        self.loaded: set[str] = set()  # the params whose history the last load_state held for group 0

    def state(self) -> dict[str, np.ndarray]:
        """Each server group's '<param>/<slot>' -> array shaped as the param, '<param>/count' ->
        [updates], named by group_key; params a group has not yet updated are left out."""
        return {group_key(g, k): v for g in range(self.groups) for k, v in self.group_state(g).items()}

    def group_state(self, group: int) -> dict[str, np.ndarray]:
        """Server group `group`'s history, under the one-process names."""
        out: dict[str, np.ndarray] = {}
        for name, shape in self.shapes.items():
            for slot in self.slots:
                got = self.client.history(group, name, slot)
                if got is not None:
                    out[f"{name}/{slot}"] = got[0].reshape(shape)
                    out[f"{name}/count"] = np.array([got[1]], np.float64)
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Put a checkpoint's history into the servers, each group its own (a group the checkpoint
        does not hold takes group 0's); a slot of another rule is a ValueError."""
        groups = by_group(state)
        for g in range(self.groups):
            loaded = self.load_group(g, groups.get(g) or groups.get(0, {}))
            if g == 0:
                self.loaded = loaded

    def load_group(self, group: int, state: dict[str, np.ndarray]) -> set[str]:
        """Put one server group's history (one-process names) into it; the params it held."""
        counts = {k.rpartition("/")[0]: int(np.asarray(v).ravel()[0]) for k, v in state.items()
                  if k.endswith("/count")}
        loaded = set()
        for key, arr in state.items():
            name, _, slot = key.rpartition("/")
            if slot == "count" or name not in self.shapes:
                continue  # counts go with their slots; another job's param this net does not have
            if slot not in SLOTS.get(self.kind, ()):
                raise ValueError(f"updater state: unknown entry {key!r} for {self.kind}")
            if arr.size != int(np.prod(self.shapes[name], dtype=np.int64)):
                raise ValueError(f"updater state: {key} has shape {list(arr.shape)}, the param "
                                 f"{list(self.shapes[name])}")
            self.client.put_history(name, slot, arr, counts.get(name, 0), group)
            loaded.add(name)
        return loaded

    def missing(self) -> list[str]:
        """The params whose history the rule keeps but the last load_state did not hold."""
        return sorted(self.shapes.keys() - self.loaded) if self.slots else []
