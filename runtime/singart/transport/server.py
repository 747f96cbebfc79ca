"""A gRPC server that binds only the addresses it is given (loopback for a one-machine job, never a
wildcard), checks the job's token on every call, and takes messages of any size (large param slices)."""
from __future__ import annotations

import re
import socket
from collections.abc import Sequence
from concurrent import futures

import grpc
from singa_spec.errors import SingaError

from .security import TlsFiles, TokenCheck

LOOPBACK = "127.0.0.1"
WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]", "*"})
UNLIMITED = -1
OPTIONS = (
    ("grpc.max_receive_message_length", UNLIMITED),
    ("grpc.max_send_message_length", UNLIMITED),
    ("grpc.so_reuseport", 0),  # a port another process holds is an error, not a silent share
)


class PortTaken(SingaError):
    """A listen refused because another process holds the port of an address of this machine."""


def split_address(address: str) -> tuple[str, str]:
    """HOST and PORT of HOST:PORT ([V6]:PORT too; the host keeps its brackets)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise SingaError(f"address {address!r} is not HOST:PORT")
    return host, port


def has_port(text: str) -> bool:
    """Whether `host:port` or `[v6]:port` carries a port (a bare IPv6 address does not)."""
    host, sep, _ = text.rpartition(":")
    return bool(sep) and ((host.startswith("[") and host.endswith("]")) or ":" not in host)


def valid_address(text: str) -> bool:
    """Whether the text is HOST:PORT with a host name or address ([V6] in brackets) and a port 1-65535."""
    m = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})", text)
    return m is not None and 1 <= int(m.group(2)) <= 65535


def join_address(host: str, port: int | str) -> str:
    """HOST:PORT, an IPv6 host in brackets so that the port stays unambiguous."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def family(host: str) -> socket.AddressFamily:
    """The socket family of a numeric host address (IPv6 when it has a colon)."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def bindable(host: str, port: int = 0) -> bool:
    """Whether a socket can bind host:port now (port 0: whether the host is one of this machine's)."""
    try:
        with socket.socket(family(host), socket.SOCK_STREAM) as s:
            s.bind((host.strip("[]"), port))
        return True
    except OSError:
        return False


def check_address(address: str) -> None:
    """Refuse an address that would listen on every interface."""
    host, _ = split_address(address)
    if host in WILDCARDS:
        raise SingaError(f"address {address!r} listens on every interface: name this host's own address")


def build_server(addresses: Sequence[str], token: str, tls: TlsFiles | None = None,
                 threads: int = 16) -> tuple[grpc.Server, list[str]]:
    """An unstarted server bound to `addresses` (port 0: any free one) and the addresses it got."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads),
                         interceptors=[TokenCheck(token)], options=OPTIONS)
    bound = []
    for address in addresses:
        check_address(address)
        try:  # grpcio raises RuntimeError when the port is taken or the host is not this machine's
            port = (server.add_secure_port(address, tls.server_credentials()) if tls
                    else server.add_insecure_port(address))
        except RuntimeError:
            port = 0
        if not port:
            host = split_address(address)[0]
            if bindable(host):
                raise PortTaken(f"cannot listen on {address}: the port is taken by another process")
            raise SingaError(f"cannot listen on {address}: the host is not one of this machine's addresses")
        bound.append(join_address(split_address(address)[0], port))
    return server, bound


def local_server(token: str, tls: TlsFiles | None = None) -> tuple[grpc.Server, str]:
    """An unstarted server on loopback only, for a job whose processes all run on this machine."""
    server, (address,) = build_server([f"{LOOPBACK}:0"], token, tls)
    return server, address
