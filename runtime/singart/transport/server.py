"""A gRPC server that binds only the addresses it is given (loopback for a one-machine job, never a
wildcard), checks the job's token on every call, and takes messages of any size (large param slices)."""
from __future__ import annotations

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


def split_address(address: str) -> tuple[str, str]:
    """HOST and PORT of HOST:PORT ([V6]:PORT too)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise SingaError(f"address {address!r} is not HOST:PORT")
    return host, port


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
            raise SingaError(f"cannot listen on {address}: the port is taken or the host is not this one")
        bound.append(f"{split_address(address)[0]}:{port}")
    return server, bound


def local_server(token: str, tls: TlsFiles | None = None) -> tuple[grpc.Server, str]:
    """An unstarted server on loopback only, for a job whose processes all run on this machine."""
    server, (address,) = build_server([f"{LOOPBACK}:0"], token, tls)
    return server, address
