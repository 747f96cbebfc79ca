"""A hosts file, read only to draw where each rank lands: one host per line, optional `slots=N`, `#` comments.

The plan does not know its hosts (`singart run --hosts` assigns them at run time); the picture follows the
same rule: ranks fill the hosts in file order, `slots` ranks each (one when not given). The compiler may not
import the runtime, so this is a small parser of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import SingaError, at


@dataclass(frozen=True)
class Host:
    """One line of a hosts file."""

    name: str
    slots: int
    line: int


def read_hosts(path: str) -> list[Host]:
    """The hosts listed in the file at `path`; a bad line is a SingaError naming the file and line."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise SingaError(f"{path}: cannot read hosts file: {getattr(e, 'strerror', None) or e}") from None
    return parse_hosts(text, path)


def hosts_of(path: str, nprocs: int) -> dict[int, str]:
    """Rank -> host name for a plan of `nprocs` processes, from the hosts file at `path`."""
    return assign_hosts(read_hosts(path), nprocs, path)


def parse_hosts(text: str, source: str) -> list[Host]:
    """The hosts of a hosts file's text; `source` names the file in errors."""
    hosts: list[Host] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        host = Host(words[0], parse_slots(words[1:], source, number), number)
        if host.name in seen:
            raise at(source, number, f"host '{host.name}' is listed twice (first on line {seen[host.name]})")
        seen[host.name] = number
        hosts.append(host)
    if not hosts:
        raise SingaError(f"{source}: no hosts listed (one host per line, optional slots=N)")
    return hosts


def parse_slots(words: list[str], source: str, line: int) -> int:
    """N of an optional 'slots=N' after the host name."""
    if not words:
        return 1
    key, _, value = words[0].partition("=")
    if len(words) > 1 or key != "slots":
        raise at(source, line, f"unexpected '{' '.join(words)}' after the host: expected 'slots=N' or nothing")
    if not value.isdigit() or int(value) < 1:
        raise at(source, line, f"slots must be a positive integer, got '{value}'")
    return int(value)


def assign_hosts(hosts: list[Host], nprocs: int, source: str) -> dict[int, str]:
    """Rank -> host name: ranks fill the hosts in file order, `slots` each; too few slots is an error."""
    names = [h.name for h in hosts for _ in range(h.slots)]
    if len(names) < nprocs:
        raise SingaError(f"{source}: the hosts have {len(names)} slots in all but the plan has {nprocs} "
                         "processes: add hosts or slots=N")
    return {rank: names[rank] for rank in range(nprocs)}
