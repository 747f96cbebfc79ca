"""What a rank's share of a plan is: its worker group and workers, the nodes and param shares they
use, and which ranks report metrics and write checkpoints."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from singa_proto import plan_pb2

from .. import SingaError
from ..params.slicing import owners


def local_graph(graph: plan_pb2.PhaseGraph, workers: list[int]) -> plan_pb2.PhaseGraph:
    """The nodes of `graph` that `workers` run (the stub counts the shares of this process only)."""
    out = plan_pb2.PhaseGraph(phase=graph.phase)
    out.nodes.extend(n for n in graph.nodes if n.worker in workers)
    return out


def local_shares(plan: plan_pb2.PlanProto, graph: plan_pb2.PhaseGraph, workers: Iterable[int]) -> Counter[str]:
    """Owner param -> how many uses of it the nodes of `workers` make in one step of `graph` (the shares
    this process's push of the param carries)."""
    owner, mine = owners(plan.params), set(workers)
    return Counter(owner[r.param] for n in graph.nodes if n.worker in mine for r in n.params)


def worker_group(plan: plan_pb2.PlanProto, rank: int) -> tuple[int, list[int]] | None:
    """The worker group this rank hosts workers of, and their ids (None: it hosts no worker)."""
    role = next(r for r in plan.roles if r.rank == rank)
    groups = sorted({w.group for w in role.workers})
    if not groups:
        return None
    if len(groups) > 1:
        raise SingaError(f"rank {rank} hosts workers of groups {groups}: a process with several worker "
                         "groups is not supported by the multi-process runtime yet; set "
                         "nworkers_per_procs to at most nworkers_per_group")
    return groups[0], sorted(w.id for w in role.workers)


def reporting_ranks(plan: plan_pb2.PlanProto) -> set[int]:
    """The ranks that host workers of group 0: they report the logged metrics, as group 0 alone does in
    one process."""
    return {r.rank for r in plan.roles if any(w.group == 0 for w in r.workers)}


def checkpoint_rank(plan: plan_pb2.PlanProto) -> int | None:
    """The rank of worker 0 of group 0: it writes the job's checkpoints (None: a plan without workers)."""
    return next((r.rank for r in plan.roles for w in r.workers if (w.group, w.id) == (0, 0)), None)


def several_groups(plan: plan_pb2.PlanProto) -> bool:
    """Whether the plan trains several worker groups, each at its own pace."""
    return plan.job.cluster.nworker_groups > 1


