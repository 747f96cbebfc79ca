"""Client channels to a peer: the job's token on every call, no message size limit, TLS when asked."""
from __future__ import annotations

import grpc

from .security import TlsFiles, TokenAdder
from .server import OPTIONS, check_address


def open_channel(address: str, token: str, tls: TlsFiles | None = None) -> grpc.Channel:
    """A channel to HOST:PORT whose every call carries the token."""
    check_address(address)
    channel = (grpc.secure_channel(address, tls.channel_credentials(), options=OPTIONS) if tls
               else grpc.insecure_channel(address, options=OPTIONS))
    return grpc.intercept_channel(channel, TokenAdder(token))
