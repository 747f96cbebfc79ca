"""`singart`: run a compiled plan (`singart run PLAN [--resume]`) and convert data (`singart data ...`)."""
from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings

from . import SingaError

# Errors the user can cause (a bad plan, shard, checkpoint or workspace, or data a layer refuses, such as
# labels out of range, or a loss that went non-finite): one line, exit code 2.
USER_ERRORS: tuple[type[BaseException], ...] = (SingaError, OSError, ValueError)
EXIT_USER, EXIT_INTERNAL, EXIT_INTERRUPTED = 2, 70, 130  # 70: EX_SOFTWARE, a bug of singart's
DEBUG_ENV = "SINGART_DEBUG"  # set to 1 to see the traceback behind an error line


def _run(args: argparse.Namespace) -> int:
    from singa_spec.plans import read_plan

    from .data.shard import ShardError
    from .train import run_plan

    if args.hosts:
        raise SingaError(f"--hosts {args.hosts}: multi-process runs come with the distributed runtime; "
                         "run without --hosts to train in this process")
    plan = read_plan(args.plan)
    # numpy's warnings on overflow and NaN would interleave with the log; the run checks the losses and
    # params itself and stops with one line at the step they go non-finite
    warnings.filterwarnings("ignore", r"(overflow|invalid value|divide by zero) encountered", RuntimeWarning)
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
        return fail(f"error: {one_line(err)}", EXIT_USER)
    except KeyboardInterrupt:
        print("singart: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 -- anything else is a bug: still one line, not a traceback
        return fail(f"internal error: {type(err).__name__}: {one_line(err)} "
                    f"(set {DEBUG_ENV}=1 for the traceback)", EXIT_INTERNAL)


def fail(message: str, code: int) -> int:
    """Print `singart: <message>` (after the traceback when debugging) and return the exit code."""
    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        traceback.print_exc()
    print(f"singart: {message}", file=sys.stderr)
    return code


def one_line(err: BaseException) -> str:
    """An error as one line (OSErrors as 'file: reason')."""
    if isinstance(err, OSError) and err.filename:
        return f"{err.filename}: {err.strerror or err}"
    return " ".join(str(err).split())


if __name__ == "__main__":
    sys.exit(main())
