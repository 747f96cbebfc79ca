"""`singart run` of a plan with several processes: the launcher of its ranks on this machine, or one rank.

With no rank in the environment, `singart run` starts the plan's processes as its child processes (the
same command line, each with its rank, the job's token and the coordinator's address); with one (a
child, or mpirun, srun, torchrun), it checks the world size against the plan and runs its rank.
"""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from singa_proto import plan_pb2

from .. import SingaError
from ..launch.hosts import only_this_machine, read_hosts
from ..launch.local import run_children
from ..launch.rank import check_world, resolve
from ..transport import TOKEN_ENV, job_token
from ..transport.server import LOOPBACK
from ..worker import available_cores, set_kernel_threads
from .coordinator import Stopped
from .rank_run import EXIT_STOPPED, run_rank


def check_hosts(path: str | None) -> None:
    """A hosts file that names only this machine runs as without one; other hosts need Ray (not yet)."""
    if path is not None and not only_this_machine(read_hosts(path)):
        raise SingaError(f"--hosts {path}: names other machines; launching processes there through Ray "
                         "is not there yet (a file naming only this machine, or mpirun/srun, works)")


def free_port() -> int:
    """A loopback port free right now (the coordinator binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def run_distributed(plan: plan_pb2.PlanProto, plan_path: str, argv: list[str], keep: int,
                    overwrite: bool) -> int:
    """Launch the plan's ranks as child processes, or run the rank the environment names."""
    found = resolve(os.environ)
    nprocs = plan.topology.nprocs
    if found is None:
        command = [str(Path(sys.executable).parent / "singart"), *argv]
        return run_children(command, nprocs, f"{LOOPBACK}:{free_port()}")
    check_world(found, plan, plan_path)
    if TOKEN_ENV not in os.environ:
        raise SingaError(f"rank {found.rank}: {TOKEN_ENV} is not set; every process of a job started by "
                         f"{found.source.split(' ')[0]} needs the same secret token in it (16 characters "
                         "or more)")
    set_kernel_threads(max(1, available_cores() // nprocs))  # the ranks share this machine's cores
    try:
        return run_rank(plan, found, job_token(), keep, overwrite)
    except Stopped as err:
        print(f"singart: error: {' '.join(str(err).split())}", file=sys.stderr, flush=True)
        return EXIT_STOPPED
