"""Small plans for the coordination tests: only a role table, sealed and written like a compiled one."""
from __future__ import annotations

from pathlib import Path

from singa_proto import plan_pb2
from singa_spec.plans import FORMAT_VERSION, seal, write_plan

# rank -> (workers, servers) as (group, id)
ROLES_3 = {0: ([(0, 0)], [(0, 0)]), 1: ([(0, 1)], []), 2: ([(1, 0)], [(1, 0)])}


def make_plan(path: Path, roles: dict[int, tuple[list, list]], name: str = "coord") -> plan_pb2.PlanProto:
    plan = plan_pb2.PlanProto()
    plan.job.name = name
    plan.format_version = FORMAT_VERSION
    plan.topology.nprocs = len(roles)
    for rank, (workers, servers) in roles.items():
        role = plan.roles.add(rank=rank)
        for group, id_ in workers:
            role.workers.add(group=group, id=id_)
        for group, id_ in servers:
            role.servers.add(group=group, id=id_)
    write_plan(seal(plan), path)
    return plan
