"""`singart run` of a plan with several processes: the launcher of its ranks on this machine, or one rank.

With no rank in the environment, `singart run` starts the plan's processes as its child processes (the
same command line, each with its rank, the job's token and the coordinator's address); with one (a
child, or mpirun, srun, torchrun), it checks the world size against the plan and runs its rank.
"""
from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from singa_proto import plan_pb2

from .. import SingaError
from ..launch.hosts import Host, only_this_machine, read_hosts
from ..launch.local import run_children
from ..launch.output import EXIT_STOPPED, Output
from ..launch.rank import check_world, resolve
from ..transport import TOKEN_ENV, TlsFiles, job_token
from ..transport.security import TLS_FLAGS
from ..transport.server import LOOPBACK, PortTaken, join_address
from .coordinator import Stopped
from .peer import COORDINATOR_RANK
from .rank_run import run_rank

EXIT_PORT_TAKEN = 75  # rank 0 found the rendezvous port taken (sysexits' EX_TEMPFAIL): start again on another
PORT_TRIES = 3  # how many fresh ports the local launcher tries


def other_hosts(path: str | None) -> list[Host] | None:
    """The hosts of a file naming other machines (their processes start through Ray); None without a
    file or for one naming only this machine (its processes start here, as without --hosts)."""
    if path is None:
        return None
    hosts = read_hosts(path)
    return None if only_this_machine(hosts) else hosts


def rank_args(argv: list[str], plan_path: str) -> list[str]:
    """The options of `singart run ...` that every rank takes: not the plan, not where to launch; TLS
    file paths made absolute (a rank on a Ray node starts in a folder of its own)."""
    words = argv[argv.index("run") + 1:] if "run" in argv else list(argv)
    if plan_path in words:
        words.remove(plan_path)
    out, skip, path_next = [], False, False
    for word in words:
        if skip:
            skip = False
        elif path_next:
            out.append(os.path.abspath(word))
            path_next = False
        elif word in ("--hosts", "--ray-address"):
            skip = True
        elif word in TLS_FLAGS:
            out.append(word)
            path_next = True
        elif word.startswith(tuple(f"{flag}=" for flag in TLS_FLAGS)):
            flag, _, path = word.partition("=")
            out.append(f"{flag}={os.path.abspath(path)}")
        elif not word.startswith(("--hosts=", "--ray-address=")):
            out.append(word)
    return out


def free_port() -> int:
    """A loopback port free right now (the coordinator binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def run_local(command: list[str], nprocs: int, pick: Callable[[], int] = free_port, tries: int = PORT_TRIES,
              err: IO[bytes] | None = None, **kw: Any) -> int:
    """The ranks as child processes, rank 0 listening on a port picked just before; when another process
    takes that port first, all again on a fresh one, up to `tries` times (the exit code as run_children's)."""
    for attempt in range(1, tries + 1):
        master = join_address(LOOPBACK, pick())
        code = run_children(command, nprocs, master, err=err, **kw)
        if code != EXIT_PORT_TAKEN or attempt == tries:
            return code
        Output(err=err).say(f"port {master} was taken before rank 0 listened on it; starting again on "
                            f"another (try {attempt + 1} of {tries})")
    return code


def run_distributed(plan: plan_pb2.PlanProto, plan_path: str, argv: list[str], keep: int,
                    overwrite: bool, hosts: list[Host] | None = None, ray_address: str | None = None,
                    tls: TlsFiles | None = None, resume: bool = False) -> int:
    """Launch the plan's ranks as child processes or on the hosts' Ray nodes, or run the rank the
    environment names."""
    found = resolve(os.environ)
    nprocs = plan.topology.nprocs
    if found is None and hosts is not None:
        from ..launch.ray_launch import run_on_ray  # Ray is an optional extra: loaded only here
        return run_on_ray(plan_path, plan, hosts, ray_address, args=rank_args(argv, plan_path))
    if found is None:
        command = [str(Path(sys.executable).parent / "singart"), *argv]
        return run_local(command, nprocs)
    check_world(found, plan, plan_path)
    if TOKEN_ENV not in os.environ:
        raise SingaError(f"rank {found.rank}: {TOKEN_ENV} is not set; every process of a job started by "
                         f"{found.source.split(' ')[0]} needs the same secret token in it (16 characters "
                         "or more)")
    try:
        return run_rank(plan, found, job_token(), keep, overwrite, tls=tls, resume=resume)
    except Stopped as err:
        print(f"singart: error: {' '.join(str(err).split())}", file=sys.stderr, flush=True)
        return EXIT_STOPPED
    except PortTaken as err:
        if found.rank != COORDINATOR_RANK:
            raise
        print(f"singart: error: {err}", file=sys.stderr, flush=True)
        return EXIT_PORT_TAKEN
