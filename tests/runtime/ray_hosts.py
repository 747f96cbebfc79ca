"""Simulated hosts for the Ray tests: network namespaces, each with a veth pair on a private bridge and
its own 10.x address, a Ray node in each (the first one the head), with token auth on, the dashboard off
and no usage stats. Names and the subnet are unique to the test run; everything is torn down, processes
by pid (those inside the namespaces), even when a step fails."""
from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

RAY = str(Path(sys.executable).parent / "ray")
RAY_PORT = 6379


@dataclass
class Cluster:
    """The namespaces (hosts), their addresses, the head's address, and the environment a driver needs."""

    names: list[str]
    addresses: list[str]
    head: str
    env: dict[str, str]
    spare: str  # an address on the bridge's subnet that no host has

    def run(self, host: int, argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        """A command inside one host's namespace, with the cluster's environment."""
        kwargs.setdefault("env", self.env)
        return subprocess.run(["ip", "netns", "exec", self.names[host], *argv], text=True, check=False,
                              capture_output=True, **kwargs)  # type: ignore[call-overload]


def why_not() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return "network namespaces need root on Linux"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    if not Path(RAY).exists():
        return "Ray is not installed (pip install 'singa-py[ray]')"
    probe = f"srp{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], check=False, capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=False, capture_output=True)
    return None


def _ip(*args: str) -> None:
    """One `ip` command; a failure raises with its message."""
    done = subprocess.run(["ip", *args], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@contextmanager
def simulated_hosts(n: int) -> Iterator[tuple[list[str], list[str]]]:
    """n namespaces on a fresh bridge: (names, addresses)."""
    tag = f"{os.getpid() % 10000}{secrets.token_hex(1)}"  # interface names are at most 15 characters
    subnet = f"10.{random.randint(100, 254)}.{random.randint(0, 254)}"
    bridge, names = f"srb{tag}", [f"srh{tag}-{i}" for i in range(n)]
    addresses = [f"{subnet}.{i + 1}" for i in range(n)]
    made: list[str] = []
    try:
        _ip("link", "add", bridge, "type", "bridge")
        _ip("link", "set", bridge, "up")
        for i, (name, addr) in enumerate(zip(names, addresses)):
            _ip("netns", "add", name)
            made.append(name)
            outer, inner = f"srv{tag}-{i}", f"sri{tag}-{i}"
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            _ip("link", "set", outer, "master", bridge)
            _ip("link", "set", outer, "up")
            _ip("link", "set", inner, "netns", name)
            _ip("-n", name, "addr", "add", f"{addr}/24", "dev", inner)
            _ip("-n", name, "link", "set", inner, "up")
            _ip("-n", name, "link", "set", "lo", "up")
        yield names, addresses
    finally:
        for name in made:
            _kill_inside(name)
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)  # takes its veth end along
        subprocess.run(["ip", "link", "del", bridge], check=False, capture_output=True)


def _kill_inside(name: str, grace_s: float = 5.0) -> None:
    """End every process in the namespace (the Ray node and whatever it started): SIGTERM, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _pids(name):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while _pids(name) and time.monotonic() < deadline:
            time.sleep(0.1)


def _pids(name: str) -> list[int]:
    """The processes inside a namespace."""
    done = subprocess.run(["ip", "netns", "pids", name], check=False, capture_output=True, text=True)
    return [int(p) for p in done.stdout.split()]


@contextmanager
def ray_cluster(n: int, cpus: int = 2) -> Iterator[Cluster]:
    """A Ray node in each of n simulated hosts, the first the head; stopped and removed on exit."""
    temp = Path(f"/tmp/srr{os.getpid()}-{secrets.token_hex(2)}")
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
           "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    try:
        with simulated_hosts(n) as (names, addresses):
            head = f"{addresses[0]}:{RAY_PORT}"
            octets = addresses[0].rsplit(".", 1)[0]
            cluster = Cluster(names, addresses, head, env, spare=f"{octets}.250")
            for i, addr in enumerate(addresses):
                role = ["--head", f"--port={RAY_PORT}", "--include-dashboard=false"] if i == 0 else [
                    f"--address={head}"]
                started = cluster.run(i, [RAY, "start", *role, f"--node-ip-address={addr}", f"--num-cpus={cpus}",
                                          "--disable-usage-stats", "--object-store-memory=80000000",
                                          f"--temp-dir={temp}-{i}"], timeout=120)
                if started.returncode != 0:
                    raise RuntimeError(f"ray start on {addr} failed:\n{started.stdout}{started.stderr}")
            yield cluster
    finally:
        for i in range(n):
            shutil.rmtree(f"{temp}-{i}", ignore_errors=True)
