"""A plan's processes on the hosts of a `--hosts` file, through a running Ray cluster.

Ray only launches, places, watches and collects logs; all training traffic is the job's own gRPC. The
launcher joins the cluster (`RAY_ADDRESS` or an explicit address), checks that every listed host is a
live Ray node, gives ranks to hosts in file order (`slots=N` ranks each), pins one actor per rank to its
host, and each actor runs the rank's command as a child process with SINGA_RANK, SINGA_WORLD_SIZE,
SINGA_MASTER (rank 0's host) and SINGA_JOB_TOKEN in its environment. Lines come back behind `[rank R] `;
the first rank that fails stops the others, and the exit code is that rank's, as for child processes.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from singa_proto import plan_pb2

from .. import SingaError
from ..transport import security
from ..transport.server import join_address, split_address
from .hosts import Host, assign_hosts
from .local import GRACE_S, _no_interrupts, own_variables
from .output import Ending, Output
from .ray_rank import PLAN, PYTHON, Line, RankProcess

READ_WAIT_S = 0.5  # how long one poll of a rank waits for its next line
STOP_EXTRA_S = 30.0  # beyond the grace period, how long the launcher waits for the actors to stop
REACH_S = 10.0  # how long the cluster's address may take to accept a connection
LOST = 1  # the exit code when a rank's actor (its host) was lost rather than the rank failing
OWN_VARIABLES = tuple(own_variables(0, 1, "", ""))  # each rank's own, never forwarded from ours


@dataclass(frozen=True)
class Placement:
    """Where one rank runs: its host line and the Ray node that host is."""

    rank: int
    host: Host
    node_id: str
    address: str


def run_on_ray(plan_path: str, plan: plan_pb2.PlanProto, hosts: list[Host], address: str | None = None,
               env: Mapping[str, str] | None = None, args: Sequence[str] = ()) -> int:
    """`singart run PLAN [args]` as every process of the plan on the hosts' Ray nodes; the exit code as
    `run_children` gives it."""
    try:
        payload = Path(plan_path).read_bytes()
    except OSError as err:
        raise SingaError(f"{plan_path}: {err.strerror or err}") from None
    command = [PYTHON, "-m", "singart.cli", "run", PLAN, *args]
    return run_ranks(command, payload, plan.topology.nprocs, hosts, address, env)


def run_ranks(command: Sequence[str], payload: bytes, world_size: int, hosts: list[Host],
              address: str | None = None, env: Mapping[str, str] | None = None, *, grace: float = GRACE_S,
              out: IO[bytes] | None = None, err: IO[bytes] | None = None) -> int:
    """Run `command` (where `{plan}` becomes the payload's file on each host and `{python}` that host's
    Python) as ranks 0..world_size-1 on the hosts; 0 when every rank exits 0, else the first failure's
    code. Call it from the main thread."""
    ray = _import_ray()
    base = dict(os.environ if env is None else env)
    token = security.job_token(base)
    where = address or base.get("RAY_ADDRESS")
    if not where:
        raise SingaError("--hosts names other machines: give the Ray cluster's address (RAY_ADDRESS or "
                         "--ray-address)")
    output = Output(out, err)
    _join(ray, where)
    actors: list[Any] = []
    try:
        placements = place(hosts, world_size, live_nodes(ray.nodes()), where)
        actors = [_actor(ray, p, payload) for p in placements]
        rank0 = placements[0].address
        master = join_address(rank0, ray.get(actors[0].free_port.remote(rank0)))
        extra = forwarded(base)
        ray.get([a.start.remote(command, extra | own_variables(p.rank, world_size, master, token))
                 for a, p in zip(actors, placements)])
        return _watch(ray, actors, placements, output)
    finally:
        with _no_interrupts():
            _stop(ray, actors, grace, output)
            ray.shutdown()


def _import_ray() -> Any:
    """Ray, or an error that says how to get it (it is an optional extra)."""
    try:
        import ray
    except ImportError:
        raise SingaError("running on other hosts needs Ray: pip install 'singa-py[ray]'") from None
    return ray


def _join(ray: Any, address: str) -> None:
    """Connect to the running cluster as a driver, quietly; never start a cluster of our own."""
    _reachable(address)
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except Exception as err:  # noqa: BLE001 -- Ray raises many kinds; each is one line for the user
        raise SingaError(f"cannot join the Ray cluster at {address}: {' '.join(str(err).split())} (a "
                         "cluster with token auth needs RAY_AUTH_MODE=token and its RAY_AUTH_TOKEN here)"
                         ) from None


def _reachable(address: str) -> None:
    """Refuse at once a `host:port` where nothing listens: Ray itself retries such an address for minutes,
    logging as it goes."""
    try:
        host, port = split_address(address)
    except SingaError:
        return  # `auto` and the like: Ray finds the cluster itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_S).close()
    except OSError as err:
        raise SingaError(f"cannot join the Ray cluster at {address}: {err.strerror or err}") from None


def live_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The nodes of `ray.nodes()` that are alive."""
    return [n for n in nodes if n.get("Alive")]


def place(hosts: list[Host], world_size: int, nodes: list[dict[str, Any]], cluster: str,
          source: str = "--hosts") -> list[Placement]:
    """Ranks to hosts as `assign_hosts` fills them (file order, `slots` each); every listed host must be
    a live node."""
    found = {h.name: (h, node_of(h, nodes, cluster)) for h in hosts}
    return [Placement(rank, found[name][0], found[name][1]["NodeID"], found[name][1]["NodeManagerAddress"])
            for rank, name in assign_hosts(hosts, world_size, source).items()]


def node_of(host: Host, nodes: list[dict[str, Any]], cluster: str) -> dict[str, Any]:
    """The live node a host line names: by the node's address, by an address the name resolves to, or
    by the node's host name when only one node has it."""
    by_address = {n["NodeManagerAddress"]: n for n in nodes}
    for addr in [host.name, *_resolve(host.name)]:
        if addr in by_address:
            return by_address[addr]
    named = [n for n in nodes if str(n.get("NodeManagerHostname", "")).lower() == host.name.lower()]
    if len(named) == 1:
        return named[0]
    there = ", ".join(sorted(by_address)) or "none"
    raise SingaError(f"hosts file line {host.line}: {host.name} is not a live node of the Ray cluster at "
                     f"{cluster} (its live nodes: {there})")


def _resolve(name: str) -> list[str]:
    """The addresses a host name resolves to here; none when it does not resolve."""
    try:
        return [str(info[4][0]) for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)]
    except (OSError, UnicodeError):
        return []


def forwarded(env: Mapping[str, str]) -> dict[str, str]:
    """What the launcher's environment passes on to every rank: its SINGA_* switches and OMP_NUM_THREADS
    (the ranks' own environment is their host's)."""
    return {k: v for k, v in env.items()
            if (k.startswith("SINGA_") and k not in OWN_VARIABLES) or k == "OMP_NUM_THREADS"}


def _actor(ray: Any, p: Placement, payload: bytes) -> Any:
    """The rank's actor, pinned to its host's node. It asks for no CPU: `slots` decide how many ranks a
    host runs; a second concurrent call lets `stop` in while a `read` waits."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    strategy = NodeAffinitySchedulingStrategy(p.node_id, soft=False)
    cls = ray.remote(RankProcess).options(num_cpus=0, max_concurrency=2, scheduling_strategy=strategy)
    return cls.remote(p.rank, payload)


def _watch(ray: Any, actors: list[Any], placements: list[Placement], output: Output) -> int:
    """Copy every rank's lines until all exited 0 (return 0), one was lost (LOST) or the run's ending is
    known (name the failed rank, return its code)."""
    pending = {actors[r].read.remote(READ_WAIT_S): r for r in range(len(actors))}
    running, ending = len(actors), Ending()
    while pending and not ending.decided():
        ready, _ = ray.wait(list(pending), num_returns=1)
        rank = pending.pop(ready[0])
        try:
            lines, code = ray.get(ready[0])
        except ray.exceptions.RayActorError as err:
            host = placements[rank].host.name
            output.say(f"rank {rank}'s actor on {host} was lost ({type(err).__name__}); stopping the others")
            return LOST
        _write(output, rank, lines)
        if code is None:
            pending[actors[rank].read.remote(READ_WAIT_S)] = rank
            continue
        running -= 1
        ending.ended(rank, code)
    return ending.report(output, running)


def _stop(ray: Any, actors: list[Any], grace: float, output: Output) -> None:
    """Stop every rank still running, print the lines they left, and end the actors."""
    refs = [a.stop.remote(grace) for a in actors]
    for rank, ref in enumerate(refs):
        try:
            _write(output, rank, ray.get(ref, timeout=grace + STOP_EXTRA_S))
        except Exception:  # noqa: BLE001, S110 -- a lost actor has nothing left to stop or say
            pass
    for a in actors:
        ray.kill(a)


def _write(output: Output, rank: int, lines: list[Line]) -> None:
    """A rank's lines on our stdout and stderr, each behind its rank."""
    for stream, line in lines:
        output.line(rank, stream, line)
