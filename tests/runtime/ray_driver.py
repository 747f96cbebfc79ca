"""`python ray_driver.py HOSTS_FILE PAYLOAD_FILE WORLD_SIZE [--address A] -- COMMAND...`: the Ray launcher
run as `singart` runs it (one line and an exit code for every ending), for a stand-in rank command."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from singart.cli import dispatch
from singart.launch.hosts import read_hosts
from singart.launch.ray_launch import run_ranks
from singart.signals import terminate_like_interrupt


def main(argv: list[str]) -> int:
    """Parse, launch, and end as `singart` does."""
    p = argparse.ArgumentParser()
    p.add_argument("hosts")
    p.add_argument("payload")
    p.add_argument("world_size", type=int)
    p.add_argument("--address")
    p.add_argument("--grace", type=float, default=2.0)
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    args.func = lambda a: run_ranks(command, Path(a.payload).read_bytes(), a.world_size, read_hosts(a.hosts),
                                    a.address, grace=a.grace)
    with terminate_like_interrupt():
        return dispatch(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
