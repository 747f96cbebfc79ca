"""The `--hosts` file (singa_spec.hosts reads it) and whether it names only this machine: then no
cluster engine is needed, and the processes are started as child processes, as without `--hosts`."""
from __future__ import annotations

import socket

from singa_spec.hosts import Host, assign_hosts, parse_hosts, read_hosts

from ..transport.server import bindable

__all__ = ["Host", "assign_hosts", "only_this_machine", "parse_hosts", "read_hosts"]

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def only_this_machine(hosts: list[Host]) -> bool:
    """Whether every host is this machine: a loopback name or address, its name, or one of its
    addresses."""
    mine = {socket.gethostname().lower(), socket.getfqdn().lower()} | LOOPBACK_NAMES
    return all(h.name.lower() in mine or _all_local(h.name) for h in hosts)


def _all_local(name: str) -> bool:
    """Whether the name resolves, and only to addresses this machine can bind (its own)."""
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return False  # a name that does not resolve here cannot be this machine
    return bool(found) and all(bindable(addr) for addr in found)  # only this machine's addresses bind
