"""Place executors on processes: the cluster topology and the deterministic rank -> role table.

Follows SINGA v0.1's ClusterProto rules: nworker_procs = groups*workers/nworkers_per_procs (a process
holds a contiguous run of one group's workers, or several whole groups); servers likewise; with
server_worker_separate the server processes come after the worker processes, otherwise servers share
the first processes. Sets `topology` and `roles` on the graph.
"""
from __future__ import annotations

import networkx as nx

from ..graph import with_graph_attrs
from ..source import Source


def place(g: nx.DiGraph) -> nx.DiGraph:
    """Return the graph with `topology` and `roles` graph attributes."""
    c = g.graph["job"].cluster
    src = g.graph["source"]
    _check_positive(c, src)
    nwp = _procs(c.nworker_groups, c.nworkers_per_group, c.nworkers_per_procs, "worker", src)
    nsp = _procs(c.nserver_groups, c.nservers_per_group, c.nservers_per_procs, "server", src)
    if c.nworker_groups % c.nserver_groups:
        raise src.field_error("nserver_groups", f"cluster: nworker_groups ({c.nworker_groups}) must be a "
                              f"multiple of nserver_groups ({c.nserver_groups})")
    nprocs = nwp + nsp if c.server_worker_separate else max(nwp, nsp)
    if c.HasField("nprocs") and c.nprocs != nprocs:
        raise src.field_error("nprocs", f"cluster: nprocs is {c.nprocs} but the topology needs {nprocs}")
    roles: list[dict] = [{"rank": r, "workers": [], "servers": []} for r in range(nprocs)]
    _fill(roles, c.nworker_groups, c.nworkers_per_group, c.nworkers_per_procs, "workers", 0)
    _fill(roles, c.nserver_groups, c.nservers_per_group, c.nservers_per_procs, "servers",
          nwp if c.server_worker_separate else 0)
    topology = {"nworker_procs": nwp, "nserver_procs": nsp, "nprocs": nprocs, "framework": framework(c)}
    return with_graph_attrs(g, topology=topology, roles=roles)


def _check_positive(c, src: Source) -> None:
    for field in ("nworker_groups", "nserver_groups", "nworkers_per_group", "nservers_per_group",
                  "nworkers_per_procs", "nservers_per_procs"):
        if getattr(c, field) <= 0:
            raise src.field_error(field, f"cluster: {field} must be positive, got {getattr(c, field)}")


def _procs(groups: int, per_group: int, per_procs: int, what: str, src: Source) -> int:
    total, field = groups * per_group, f"n{what}s_per_procs"
    if per_procs > per_group and per_procs % per_group:
        raise src.field_error(field, f"cluster: {field} ({per_procs}) must be a multiple of "
                              f"n{what}s_per_group ({per_group}) when a process holds several groups")
    if per_procs <= per_group and per_group % per_procs:
        raise src.field_error(field, f"cluster: n{what}s_per_group ({per_group}) must be a multiple of "
                              f"{field} ({per_procs})")
    if total % per_procs:
        raise src.field_error(field, f"cluster: {groups} {what} groups x {per_group} {what}s do not fill "
                              f"processes of {per_procs}")
    return total // per_procs


def _fill(roles: list[dict], groups: int, per_group: int, per_procs: int, key: str, first: int) -> None:
    for k in range(groups * per_group):
        roles[first + k // per_procs][key].append((k // per_group, k % per_group))


def framework(c) -> str:
    """The named framework this cluster matches (reference §4), or '' for a single worker."""
    if c.nworker_groups == 1 and c.nserver_groups == 1:
        if c.nworkers_per_group == 1 and c.nservers_per_group == 1:
            return ""
        return "Sandblaster" if c.server_worker_separate else "AllReduce"
    if c.nserver_groups == 1:
        return "Downpour"
    if c.nserver_groups == c.nworker_groups:
        return "Hogwild"
    return ""
