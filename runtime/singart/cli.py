"""`singart`: run a compiled plan (`singart run PLAN [--resume]`), convert data (`singart data ...`) and
generate text from a trained language model (`singart sample PLAN`)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
import warnings
from typing import TYPE_CHECKING, Any

from singa_spec.console import silence_stdout, stdout_gone, version

from . import SingaError
from .signals import Terminated, terminate_like_interrupt

if TYPE_CHECKING:
    from singa_proto import plan_pb2

    from .transport.security import TlsFiles

# Errors the user can cause (a bad plan, shard, checkpoint or workspace, or data a layer refuses, such as
# labels out of range, or a loss that went non-finite): one line, exit code 2.
USER_ERRORS: tuple[type[BaseException], ...] = (SingaError, OSError, ValueError)
EXIT_USER, EXIT_INTERNAL = 2, 70  # 70: EX_SOFTWARE, a bug of singart's
# ended by signal N: 128 + N, as a shell reports it (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, and 141 when
# stdout's reader went away, as for a tool SIGPIPE ended)
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
DEBUG_ENV = "SINGART_DEBUG"  # set to 1 to see the traceback behind an error line
RUN_HELP = ("Train a plan compiled by `singac compile` in this process: the job's train net for "
            "train_steps steps, with validation, test, checkpoints and log lines at the job's "
            "frequencies; checkpoints and event files go to the job's workspace. Ctrl-C, SIGTERM and "
            "SIGHUP stop a run cleanly: the newest complete checkpoint stays, and --resume continues "
            "from it. A loss that becomes NaN or infinite stops the run with an error naming the step.")
EXIT_CODES = ("exit codes: 0 done; 2 bad input or a non-finite loss; 3 another process of the job failed "
              "or was lost; 70 internal error; 75 rank 0's port was taken (start it again); 128+N ended by "
              "signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 141 stdout closed)")


def _run(args: argparse.Namespace) -> int:
    from singa_spec.plans import read_plan
    from singa_spec.plugins import load_plugins

    from .memory import check_fits
    from .train import NUMPY_NOISE, run_here

    # gRPC's own log lines (a peer's failed TLS handshake, at INFO) would come between ours; it reads
    # this when it loads, which only a run of several processes does
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    load_plugins(args.plugin)  # then reading the plan loads the ones it was compiled with
    plan = read_plan(args.plan)
    tls = _tls(args)  # checked before anything starts, on every rank (a one-process plan does not use it)
    hosts = None
    if args.hosts:
        from .distributed.launcher import other_hosts
        hosts = other_hosts(args.hosts)  # None: the file names only this machine
    if hosts is not None and plan.topology.nprocs < 2:
        raise SingaError(f"--hosts {args.hosts}: {args.plan} runs as one process; compile the job with "
                         "several processes (nworkers_per_procs, server_worker_separate) to spread it")
    if plan.topology.nprocs == 1:
        run_here(plan, args.plan, not args.no_memory_check, resume=args.resume, overwrite=args.overwrite,
                 keep=args.keep_checkpoints)
        return 0
    if not args.no_memory_check:
        check_fits(plan, args.plan)  # before anything is allocated
    # numpy's warnings on overflow and NaN would interleave with the log; the run checks the losses and
    # params itself and stops with one line at the step they go non-finite
    warnings.filterwarnings("ignore", NUMPY_NOISE, RuntimeWarning)
    return _run_processes(plan, args, hosts, tls)


def _tls(args: argparse.Namespace) -> TlsFiles | None:
    """The mutual-TLS files of --tls-cert/--tls-key/--tls-ca (all three or none)."""
    if not (args.tls_cert or args.tls_key or args.tls_ca):
        return None  # without them a one-process run never loads gRPC
    from .transport.security import tls_files

    return tls_files(args.tls_cert, args.tls_key, args.tls_ca)


def _run_processes(plan: plan_pb2.PlanProto, args: argparse.Namespace, hosts: list[Any] | None,
                   tls: TlsFiles | None) -> int:
    """A plan of several processes: start them here, or be the one the environment names."""
    from .distributed.launcher import run_distributed
    from .train import checkpoint_keep

    keep = checkpoint_keep(plan.job, args.keep_checkpoints, args.resume, args.overwrite)
    args.exit_at_once = True
    return run_distributed(plan, args.plan, args.argv, keep, args.overwrite, hosts, args.ray_address, tls,
                           resume=args.resume)


def count(text: str) -> int:
    """A whole number >= 0, for argparse."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def parser() -> argparse.ArgumentParser:
    """The `singart` command line."""
    from .data.cli import add_data_command
    from .sample_cli import add_sample_command

    p = argparse.ArgumentParser(prog="singart", description="Run SINGA placement plans compiled by singac.")
    p.add_argument("--version", action="version", version=f"singart (singa-py) {version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = sub.add_parser("run", help="train a compiled plan in this process", description=RUN_HELP,
                         epilog=EXIT_CODES)
    run.add_argument("plan", metavar="PLAN", help="plan file written by `singac compile`")
    start = run.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true",
                       help="continue from the newest checkpoint in the job's workspace")
    start.add_argument("--overwrite", action="store_true",
                       help="start over in a workspace that holds checkpoints, replacing them")
    run.add_argument("--keep-checkpoints", type=count, metavar="N",
                     help="keep the N newest checkpoint steps, 0: all (default: the job's checkpoint_keep, 3)")
    run.add_argument("--hosts", metavar="FILE",
                     help="where the plan's processes run: one host per line, optional slots=N; a file "
                          "naming only this machine runs them here, other hosts through a running Ray "
                          "cluster (pip install 'singa-py[ray]')")
    run.add_argument("--ray-address", metavar="HOST:PORT",
                     help="the Ray cluster for --hosts (default: RAY_ADDRESS)")
    for flag, what in (("--tls-cert", "this process's certificate"), ("--tls-key", "its private key"),
                       ("--tls-ca", "the CA certificate that signed every process's certificate")):
        run.add_argument(flag, metavar="FILE",
                         help=f"mutual TLS between the plan's processes: {what} (PEM; all three flags or "
                              "none; each host reads its own file at that path)")
    run.add_argument("--plugin", action="append", default=[], metavar="FILE_OR_MODULE",
                     help="load a plugin first (a Python file or module; repeatable); the plugins the plan "
                          "was compiled with load by themselves")
    run.add_argument("--no-memory-check", action="store_true",
                     help="run even when the plan's memory estimate exceeds the memory available")
    run.set_defaults(func=_run)
    add_data_command(sub)
    add_sample_command(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `singart` console script."""
    args = parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the ranks' own command line
    with terminate_like_interrupt():
        code = dispatch(args)
    if getattr(args, "exit_at_once", False):
        # a rank's gRPC server threads may still wait for updates that never come (the job stopped), and
        # the interpreter would join them at exit: the rank has said how it ends, so it ends now
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def dispatch(args: argparse.Namespace) -> int:
    """Run the chosen command; every way it can end becomes one line on stderr and an exit code."""
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a reader that went away shows here, not as a warning at exit
        return code
    except BrokenPipeError as err:
        if stdout_gone():  # `singart run ... | head -1`: end quietly, as a tool SIGPIPE ends
            silence_stdout()
            return EXIT_BROKEN_PIPE
        return fail(f"error: {one_line(err)}", EXIT_USER)
    except USER_ERRORS as err:
        return fail(f"error: {one_line(err)}", EXIT_USER)
    except Terminated as err:
        print(f"singart: terminated ({signal.Signals(err.signum).name})", file=sys.stderr)
        return 128 + err.signum
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
