"""gRPC between singart processes: frames of header + raw tensor bytes, servers that bind only the
given addresses, the job's token on every call, mutual TLS on request, shared memory on one host."""
from __future__ import annotations

from .channel import open_channel
from .framing import Framed, decode, encode
from .security import TOKEN_ENV, TOKEN_KEY, TlsFiles, job_token
from .server import build_server, local_server
from .services import SERVICES, Stub, add_service, chunks, gather

__all__ = ["SERVICES", "TOKEN_ENV", "TOKEN_KEY", "Framed", "Stub", "TlsFiles",
           "add_service", "build_server", "chunks", "decode", "encode", "gather", "job_token", "local_server",
           "open_channel"]
