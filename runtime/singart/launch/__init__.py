"""Starting a plan's processes: who each one is (rank), where they run (hosts), and child processes on
this machine (local)."""
from __future__ import annotations

from .hosts import Host, only_this_machine, read_hosts
from .local import run_children
from .rank import Rank, check_world, resolve

__all__ = ["Host", "Rank", "check_world", "only_this_machine", "read_hosts", "resolve", "run_children"]
