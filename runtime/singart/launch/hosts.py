"""The `--hosts` file (singa_spec.hosts reads it) and whether it names only this machine: then no
cluster engine is needed, and the processes are started as child processes, as without `--hosts`."""
from __future__ import annotations

import socket
from functools import lru_cache

from singa_spec.hosts import Host, assign_hosts, parse_hosts, read_hosts

from ..transport.server import bindable, split_address

__all__ = ["Host", "assign_hosts", "is_this_machine", "only_this_machine", "parse_hosts", "read_hosts", "same_host"]

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def only_this_machine(hosts: list[Host]) -> bool:
    """Whether every host is this machine: a loopback name or address, its name, or one of its
    addresses."""
    return all(is_this_machine(h.name) for h in hosts)


@lru_cache(maxsize=256)
def is_this_machine(name: str) -> bool:
    """Whether a host name or address is this machine: a loopback name, its name, or a name that
    resolves only to addresses it can bind."""
    mine = {socket.gethostname().lower(), socket.getfqdn().lower()} | LOOPBACK_NAMES
    return name.lower() in mine or _all_local(name.strip("[]"))


def same_host(address: str) -> bool:
    """Whether a peer at HOST:PORT runs on this process's host, so that shared memory can carry its
    tensors: the one rule for params and bridges. An address string is not trusted: the host must be
    this machine (in a network namespace, only that namespace's addresses are)."""
    return is_this_machine(split_address(address)[0])


def _all_local(name: str) -> bool:
    """Whether the name resolves, and only to addresses this machine can bind (its own)."""
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return False  # a name that does not resolve here cannot be this machine
    return bool(found) and all(bindable(addr) for addr in found)  # only this machine's addresses bind
