"""A process's share of a worker group: the executors of the group's workers this rank hosts (the
plan's roles say which), with bridges that reach the group's workers in other processes.

The in-process `WorkerGroup` stays as it is; this subclass only chooses the workers, brings the
remote-aware channels, and tells them the step before each one (tensors from other processes are keyed
by it). Its metrics are this process's part of the group's.
"""
from __future__ import annotations

from singa_proto import job_pb2, plan_pb2

from .. import SingaError
from ..algorithms import Algorithm
from ..store import ParamStore
from ..worker import WorkerGroup
from .bridges_rpc import Inbox, Link, RemoteChannels


def homes(plan: plan_pb2.PlanProto, group: int) -> dict[int, int]:
    """worker id -> the rank of the process that hosts it, for the workers of worker group `group`."""
    out: dict[int, int] = {}
    for role in plan.roles:
        for w in role.workers:
            if w.group == group:
                out[w.id] = role.rank
    return out


def hosted(plan: plan_pb2.PlanProto, rank: int, group: int) -> list[int]:
    """The worker ids of group `group` that the process of `rank` hosts."""
    return sorted(w for w, r in homes(plan, group).items() if r == rank)


class ProcessGroup(WorkerGroup):
    """The workers of one group that this process hosts, running one phase graph."""

    def __init__(self, plan: plan_pb2.PlanProto, graph: plan_pb2.PhaseGraph, store: ParamStore, seed: int,
                 train: bool, rank: int, group: int, links: dict[int, Link], inbox: Inbox,
                 ngroups: int = 1, algorithm: Algorithm | None = None, cores: int | None = None) -> None:
        workers = hosted(plan, rank, group)
        if not workers:
            raise SingaError(f"rank {rank} hosts no worker of group {group} in the plan's roles")
        scope = f"{group}/{job_pb2.Phase.Name(graph.phase)}/"  # one inbox serves every group and phase
        self.remote = RemoteChannels(graph, rank, homes(plan, group), links, inbox, scope)
        super().__init__(graph, store, seed, train, ngroups, workers=workers, channels=self.remote,
                         algorithm=algorithm, cores=cores)

    def run(self, step: int) -> None:
        """One step of this process's workers; bridge tensors of other processes are keyed by `step`."""
        self.remote.step = step
        super().run(step)
