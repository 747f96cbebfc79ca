"""Where each rank lands, to draw it: the hosts file of `singart run --hosts` (singa_spec.hosts reads it;
the plan does not know its hosts, they are assigned at run time by the same rule)."""
from __future__ import annotations

from singa_spec.hosts import assign_hosts, read_hosts


def hosts_of(path: str, nprocs: int) -> dict[int, str]:
    """Rank -> host name for a plan of `nprocs` processes, from the hosts file at `path`."""
    return assign_hosts(read_hosts(path), nprocs, path)
