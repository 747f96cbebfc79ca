"""`python -m singart.launch -n N [--master HOST:PORT] -- COMMAND...`: run a command as N ranks on this
machine, as `singart run` starts a plan's processes (for trying a program under the launcher)."""
from __future__ import annotations

import argparse
import sys

from ..cli import dispatch
from ..signals import terminate_like_interrupt
from .local import GRACE_S, run_children


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m singart.launch",
                                description="Run COMMAND as ranks 0..N-1 on this machine, each line of "
                                            "their output behind its rank; the first rank that fails "
                                            "stops the others.")
    p.add_argument("-n", "--nprocs", type=int, required=True, help="how many ranks")
    p.add_argument("--master", default="127.0.0.1:6723", help="the SINGA_MASTER every rank gets")
    p.add_argument("--grace", type=float, default=GRACE_S,
                   help="seconds a rank has after SIGTERM before SIGKILL (default %(default)s)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command line, after --")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse, run, and end as `singart` does: one line and an exit code."""
    args = parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser().error("give the command after --")
    args.func = lambda a: run_children(command, a.nprocs, a.master, grace=a.grace)
    with terminate_like_interrupt():
        return dispatch(args)


if __name__ == "__main__":
    sys.exit(main())
