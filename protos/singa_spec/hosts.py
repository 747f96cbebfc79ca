"""The hosts file both commands read (`singart run --hosts`, `singac viz --hosts`): one host per line,
an optional `slots=N`, `#` comments and blank lines; ranks fill the hosts in file order, `slots` each.

```
# two boxes, the second with room for two processes
10.0.0.1
gpu-box slots=2
```
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import SingaError

HOSTNAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*")


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
        raise SingaError(f"{path}: cannot read hosts file: {err.strerror or err}") from None
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


def assign_hosts(hosts: list[Host], nprocs: int, source: str) -> dict[int, str]:
    """Rank -> host name: ranks fill the hosts in file order, `slots` each; too few slots is an error."""
    names = [h.name for h in hosts for _ in range(h.slots)]
    if len(names) < nprocs:
        raise SingaError(f"{source}: the hosts have {len(names)} slots in all but the plan has {nprocs} "
                         "processes: add hosts or slots=N")
    return {rank: names[rank] for rank in range(nprocs)}
