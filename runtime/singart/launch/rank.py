"""A process's rank, world size and rendezvous address, from whichever launcher started it.

Any launcher that starts every process as the same `singart run plan.bin` (srun, mpirun, torchrun, a
Kubernetes job, or `singart run` itself for child processes) tells each process who it is through its
environment. The sources are tried in a fixed order, and the first one that sets any of its variables
wins and must set them all: a rank without a size is a mistake, never a cue to look further down.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from singa_proto import plan_pb2

from .. import SingaError
from ..transport.server import has_port, join_address, valid_address


@dataclass(frozen=True)
class Source:
    """One launcher's variables: rank, world size, and where it says the rendezvous is."""

    name: str
    rank: str
    size: str


# The order the issue fixes: our own variables first, then the launchers that set them for us.
SOURCES = (
    Source("SINGA", "SINGA_RANK", "SINGA_WORLD_SIZE"),
    Source("torchrun", "RANK", "WORLD_SIZE"),
    Source("Slurm", "SLURM_PROCID", "SLURM_NTASKS"),
    Source("Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    Source("PMI", "PMI_RANK", "PMI_SIZE"),
)
FLAGS = Source("flags", "--rank", "--world-size")
SINGA = SOURCES[0]  # the variables our own launchers set
MASTER_ENV = "SINGA_MASTER"  # beside them: rank 0's HOST:PORT


@dataclass(frozen=True)
class Rank:
    """Who this process is; `master` is `host:port`, or None when no source names the rendezvous."""

    rank: int
    world_size: int
    master: str | None
    source: str  # e.g. "torchrun (RANK, WORLD_SIZE)", for the log line

    def describe(self) -> str:
        """`rank 2 of 4 from torchrun (RANK, WORLD_SIZE), master host:port`: the start-up log line."""
        where = f", master {self.master}" if self.master else ""
        return f"rank {self.rank} of {self.world_size} from {self.source}{where}"


def resolve(env: Mapping[str, str], rank: int | None = None, world_size: int | None = None,
            master: str | None = None, default_port: int = 6723) -> Rank | None:
    """This process's rank from the flags or the first launcher whose variables are set; None when
    nothing names one (a plain `singart run`, which starts the plan's processes itself)."""
    if rank is not None or world_size is not None:
        found = _checked(FLAGS, None if rank is None else str(rank),
                         None if world_size is None else str(world_size))
        return Rank(*found, master=_master(master, None, env, default_port), source="flags")
    for src in SOURCES:
        if src.rank in env or src.size in env:
            r, size = _checked(src, env.get(src.rank), env.get(src.size))
            own = _source_master(src, env, default_port)
            return Rank(r, size, _master(master, own, env, default_port),
                        source=f"{src.name} ({src.rank}, {src.size})")
    return None


def check_world(found: Rank, plan: plan_pb2.PlanProto, plan_path: str) -> None:
    """Refuse a launcher that started another number of processes than the plan places."""
    nprocs, nroles = plan.topology.nprocs, len(plan.roles)
    if nprocs != nroles:
        raise SingaError(f"{plan_path}: the plan's topology has {nprocs} process(es) but its role table "
                         f"{nroles}; compile it again")
    if found.world_size != nprocs:
        raise SingaError(f"{plan_path}: the plan places {nprocs} process(es) but {found.source} gives a "
                         f"world size of {found.world_size}; start it with {nprocs} processes")


def _checked(src: Source, rank: str | None, size: str | None) -> tuple[int, int]:
    """Rank and size as numbers: both set, whole, size >= 1, 0 <= rank < size."""
    if rank is None or size is None:
        have, missing = (src.rank, src.size) if size is None else (src.size, src.rank)
        raise SingaError(f"{have} is set but {missing} is not; set both")
    r, n = _whole(src.rank, rank), _whole(src.size, size)
    if n < 1:
        raise SingaError(f"{src.size}={size}: a world size is at least 1")
    if r >= n:
        raise SingaError(f"{src.rank}={rank} is out of range for {src.size}={size} (ranks 0 to {n - 1})")
    return r, n


def _whole(name: str, text: str) -> int:
    """A whole number >= 0, or an error naming the variable."""
    if not (text.strip().isascii() and text.strip().isdigit()):
        raise SingaError(f"{name}={text!r} is not a whole number >= 0")
    return int(text)


def _source_master(src: Source, env: Mapping[str, str], default_port: int) -> str | None:
    """The rendezvous a launcher names itself: SINGA_MASTER, torchrun's MASTER_ADDR:MASTER_PORT, or for
    Slurm its launch node's address or the first host of its node list (MPI names none)."""
    if src is SINGA:
        return _address(MASTER_ENV, env[MASTER_ENV]) if MASTER_ENV in env else None
    if src.name == "torchrun":
        if "MASTER_PORT" in env and "MASTER_ADDR" not in env:
            raise SingaError("MASTER_PORT is set but MASTER_ADDR is not: torchrun sets both")
        if "MASTER_ADDR" not in env:
            return None
        port = env.get("MASTER_PORT", str(default_port))
        return _address("MASTER_ADDR/MASTER_PORT", join_address(env["MASTER_ADDR"], port))
    if src.name == "Slurm":
        host = env.get("SLURM_LAUNCH_NODE_IPADDR") or first_host(
            env.get("SLURM_NODELIST") or env.get("SLURM_JOB_NODELIST", ""))
        return join_address(host, default_port) if host else None
    return None


def _master(flag: str | None, own: str | None, env: Mapping[str, str], default_port: int) -> str | None:
    """The explicit flag, else the winning launcher's own, else SINGA_MASTER (as `mpirun -x` passes)."""
    if flag is not None:
        return _address("--master", flag if has_port(flag) else join_address(flag, default_port))
    if own is not None:
        return own
    return _address(MASTER_ENV, env[MASTER_ENV]) if MASTER_ENV in env else None


def _address(name: str, text: str) -> str:
    """`host:port` with a host and a port from 1 to 65535, or an error naming where it came from."""
    if not valid_address(text):
        raise SingaError(f"{name}={text!r} is not an address host:port (port 1 to 65535)")
    return text


def first_host(nodelist: str) -> str:
    """The first host of a Slurm node list: `node[03-05,9],gpu1` -> `node03`, `r[1-2]-n[7-8]` -> `r1-n7`."""
    depth, end = 0, len(nodelist)
    for i, ch in enumerate(nodelist):
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            end = i
            break
    return re.sub(r"\[([^\]]*)\]", lambda m: m.group(1).split(",")[0].split("-")[0], nodelist[:end]).strip()
