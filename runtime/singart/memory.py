"""Refuse a plan that cannot fit before anything is allocated, instead of being killed by the kernel.

The memory available is the smaller of the cgroup's room (its limit minus its working set, at the
process's cgroup and every cgroup above it: v2 `memory.max` / `memory.current`, v1 `memory.limit_in_bytes`
/ `memory.usage_in_bytes`, less the inactive page cache of `memory.stat`, which the kernel reclaims before
it kills anything) and the system's MemAvailable.
"""
from __future__ import annotations

import os
from pathlib import Path

from singa_proto import plan_pb2
from singa_spec import SingaError
from singa_spec.memory import describe, estimate, human

PROC_CGROUP, CGROUP_ROOT, MEMINFO = Path("/proc/self/cgroup"), Path("/sys/fs/cgroup"), Path("/proc/meminfo")
UNLIMITED = 1 << 60  # v1 writes "no limit" as a huge number (2^63 rounded down to a page)
# (folder under the root, limit file, usage file, memory.stat's key of the inactive page cache) per
# cgroup version: v2's line has no controllers
FILES = {"v2": ("", "memory.max", "memory.current", "inactive_file"),
         "v1": ("memory", "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")}


def _number(path: Path) -> int | None:
    """An integer file's value; None when it is absent, unreadable or not a number ('max')."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _stat(folder: Path, key: str) -> int:
    """A value of the cgroup's memory.stat (0 when it is not there)."""
    try:
        lines = (folder / "memory.stat").read_text().splitlines()
    except OSError:
        return 0
    found = [int(v) for k, _, v in (line.partition(" ") for line in lines) if k == key and v.isdigit()]
    return found[0] if found else 0


def _room(folder: Path, limit_file: str, usage_file: str, cache_key: str) -> int | None:
    limit = _number(folder / limit_file)
    if limit is None or limit >= UNLIMITED:
        return None
    working_set = max(0, (_number(folder / usage_file) or 0) - _stat(folder, cache_key))
    return max(0, limit - working_set)


def _folders(base: Path, path: str) -> list[Path]:
    """The cgroup's folder and those above it, down from the mount; a cgroup namespace mounts the
    process's own cgroup at the root, so parts of the path that are not there are skipped."""
    parts = [p for p in path.strip("/").split("/") if p]
    return [base.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]


def cgroup_available(proc_cgroup: Path = PROC_CGROUP, root: Path = CGROUP_ROOT) -> int | None:
    """Bytes the process's cgroups still allow (None: no limit, or no cgroup memory controller)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    rooms = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        version = "v2" if controllers == "" else "v1" if "memory" in controllers.split(",") else None
        if version is None:
            continue
        sub, *files = FILES[version]
        base = root / sub if sub else root
        rooms += [r for f in _folders(base, path) if f.is_dir() and (r := _room(f, *files)) is not None]
    return min(rooms, default=None)


def meminfo_available(meminfo: Path = MEMINFO) -> int | None:
    """MemAvailable of /proc/meminfo in bytes (None when it is not there)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available() -> int | None:
    """Bytes this process may still use: the smaller of the cgroup's room and MemAvailable."""
    known = [n for n in (cgroup_available(), meminfo_available()) if n is not None]
    return min(known, default=None)


def resident(statm: Path = Path("/proc/self/statm")) -> int:
    """This process's resident bytes now (0 when /proc does not say)."""
    try:
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def check_fits(plan: plan_pb2.PlanProto, name: str, room: int | None = None) -> None:
    """Raise a one-line SingaError when the plan's estimate exceeds the memory available."""
    est = estimate(plan)
    if room is None:
        # the memory this process already holds (the interpreter, the libraries: the estimate's baseline)
        # is used already, not available: count it on both sides
        known = available()
        room = None if known is None else known + min(est.baseline, resident())
    if room is None or est.total <= room:
        return
    biggest = "".join(f" (biggest: layer '{layer}' {describe(parts)})" for layer, parts in est.process.top(1))
    raise SingaError(f"{name} needs ~{human(est.total)} per process{biggest}, {human(room)} available; "
                     "lower the batch size or partition the net over more workers (or pass --no-memory-check)")
