"""The `--hosts` file: one host per line, an optional `slots=N`, `#` comments and blank lines.

```
# two boxes, the second with room for two processes
10.0.0.1
gpu-box slots=2
```

A file that names only this machine needs no cluster engine: its processes are started as child
processes, as without `--hosts`.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from .. import SingaError

HOSTNAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*")
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


@dataclass(frozen=True)
class Host:
    """One line of a hosts file: the host, its process slots, and the line it is on (for errors)."""

    name: str
    slots: int
    line: int


def read_hosts(path: str | Path) -> list[Host]:
    """The hosts a file lists, in its order; every mistake is one error naming the file and line."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise SingaError(f"{path}: not a text file (UTF-8) of host names") from None
    except OSError as err:
        raise SingaError(f"{path}: {err.strerror or err}") from None
    return parse_hosts(text, str(path))


def parse_hosts(text: str, path: str) -> list[Host]:
    """`read_hosts` on text already read; `path` names it in errors."""
    hosts: list[Host] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        host = _host(words, path, number)
        if host.name.lower() in seen:
            raise SingaError(f"{path}:{number}: host {host.name} is listed again (first on line "
                             f"{seen[host.name.lower()]}); give it slots=N on one line instead")
        seen[host.name.lower()] = number
        hosts.append(host)
    if not hosts:
        raise SingaError(f"{path}: lists no host (one host name or address per line)")
    return hosts


def _host(words: list[str], path: str, number: int) -> Host:
    """One line's host and slots."""
    name, options = words[0], words[1:]
    if not _valid_name(name):
        raise SingaError(f"{path}:{number}: {name!r} is not a host name or an IP address")
    slots = 1
    for i, word in enumerate(options):
        key, eq, value = word.partition("=")
        if key != "slots" or not eq:
            raise SingaError(f"{path}:{number}: unexpected {word!r} after the host; a line is "
                             "`HOST [slots=N]`")
        if i > 0:
            raise SingaError(f"{path}:{number}: slots is given twice")
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise SingaError(f"{path}:{number}: slots={value!r} is not a whole number >= 1")
        slots = int(value)
    return Host(name, slots, number)


def _valid_name(name: str) -> bool:
    """A host name (letters, digits, `-`, `_`, dots) or an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return len(name) <= 253 and bool(HOSTNAME.fullmatch(name))


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
    return bool(found) and all(_bindable(addr) for addr in found)


def _bindable(addr: str) -> bool:
    """Whether a socket can bind the address: true for this machine's addresses alone."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((addr, 0))
        return True
    except OSError:
        return False
