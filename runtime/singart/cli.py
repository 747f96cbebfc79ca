"""`singart`: run a compiled plan (`singart run PLAN [--resume]`) and convert data (`singart data ...`)."""
from __future__ import annotations

import argparse
import sys

from . import SingaError

# Errors the user can cause (a bad plan, shard, checkpoint or workspace): one line, exit code 2.
USER_ERRORS: tuple[type[BaseException], ...] = (SingaError, OSError)


def _run(args: argparse.Namespace) -> int:
    from .data.shard import ShardError
    from .planio import load_plan
    from .train import run_plan

    if args.hosts:
        raise SingaError(f"--hosts {args.hosts}: multi-process runs come with the distributed runtime; "
                         "run without --hosts to train in this process")
    plan = load_plan(args.plan)
    try:
        run_plan(plan, resume=args.resume)
    except ShardError as err:  # the data layers' one-line errors name the layer and the shard
        raise SingaError(str(err)) from None
    return 0


def parser() -> argparse.ArgumentParser:
    """The `singart` command line."""
    from .data.cli import add_data_command

    p = argparse.ArgumentParser(prog="singart", description="Run SINGA placement plans compiled by singac.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = sub.add_parser("run", help="train a compiled plan in this process")
    run.add_argument("plan", metavar="PLAN", help="plan file written by `singac compile`")
    run.add_argument("--resume", action="store_true",
                     help="continue from the newest checkpoint in the job's workspace")
    run.add_argument("--hosts", metavar="FILE", help="host file for a multi-process run")
    run.set_defaults(func=_run)
    add_data_command(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `singart` console script."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except USER_ERRORS as err:
        print(f"singart: error: {one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("singart: interrupted", file=sys.stderr)
        return 130


def one_line(err: BaseException) -> str:
    """An error as one line (OSErrors as 'file: reason')."""
    if isinstance(err, OSError) and err.filename:
        return f"{err.filename}: {err.strerror or err}"
    return " ".join(str(err).split())


if __name__ == "__main__":
    sys.exit(main())
