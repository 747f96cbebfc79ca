"""The plan's param slices as plain data, shared by the worker side (which cuts gradients into slices)
and the server side (which owns them), so that neither needs the plan's protobuf types at run time."""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from singa_proto import plan_pb2


class Slice(NamedTuple):
    """One slice of an owner param: floats [offset, offset + size) of its row-major values."""

    param: str
    slice_id: int
    offset: int
    size: int
    server: int        # server id within every server group
    master_group: int  # the server group whose copy the others sync with (distributed Hogwild)


def slice_table(plan: plan_pb2.PlanProto) -> dict[str, list[Slice]]:
    """Owner param name -> its slices, in offset order (shares own no slices: their owner's are used)."""
    table: dict[str, list[Slice]] = {}
    for e in plan.params:
        if e.share_from:
            continue
        cuts = sorted(e.slices, key=lambda s: s.offset)
        table[e.name] = [Slice(e.name, s.slice_id, s.offset, s.size, s.server, s.master_group) for s in cuts]
    return table


def server_group_of(worker_group: int, nworker_groups: int, nserver_groups: int) -> int:
    """The server group that serves a worker group (SINGA: g / (nworker_groups / nserver_groups))."""
    per = max(1, max(1, nworker_groups) // max(1, nserver_groups))
    return min(worker_group // per, max(1, nserver_groups) - 1)


def flat_part(array: np.ndarray, s: Slice) -> np.ndarray:
    """The slice's floats of a whole (contiguous) param array, as a view."""
    return array.reshape(-1)[s.offset:s.offset + s.size]


def owners(entries: Iterable[plan_pb2.ParamEntry]) -> dict[str, str]:
    """Param name -> the name of the param that owns its values (itself unless shared)."""
    share = {e.name: e.share_from for e in entries}
    result = {}
    for name in share:
        owner, seen = name, set()
        while share.get(owner) and owner not in seen:
            seen.add(owner)
            owner = share[owner]
        result[name] = owner
    return result
