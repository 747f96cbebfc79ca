"""The job's secret token on every call, and mutual TLS when certificate paths are given."""
from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import grpc
from singa_spec.errors import SingaError

TOKEN_KEY = "x-singa-token"  # gRPC metadata keys are lower case
TOKEN_ENV = "SINGA_JOB_TOKEN"
TLS_FLAGS = ("--tls-cert", "--tls-key", "--tls-ca")
# what each file must hold: gRPC takes any bytes and fails later, at bind or handshake, naming no file
PEM_MARKS = (b"-----BEGIN CERTIFICATE-----", b"PRIVATE KEY-----", b"-----BEGIN CERTIFICATE-----")


def job_token(env: Mapping[str, str] | None = None) -> str:
    """The job's token: SINGA_JOB_TOKEN when the launcher set one (every process of the job must share
    it), else a fresh random one."""
    given = (os.environ if env is None else env).get(TOKEN_ENV)
    if given is not None:
        if len(given) < 16:
            raise SingaError(f"{TOKEN_ENV} is {len(given)} characters long: a job token needs at least 16")
        return given
    return secrets.token_urlsafe(32)


def _refusal(handler: grpc.RpcMethodHandler | None) -> grpc.RpcMethodHandler:
    """A handler of the same kind that refuses the call before reading its request."""
    def refuse(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, f"missing or wrong {TOKEN_KEY}")
    if handler is not None and handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse)
    return grpc.unary_unary_rpc_method_handler(refuse)


class TokenCheck(grpc.ServerInterceptor):
    """Refuses (UNAUTHENTICATED) every call whose metadata lacks the job's token."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        given = dict(details.invocation_metadata or ()).get(TOKEN_KEY, "")
        given = given.encode() if isinstance(given, str) else given
        handler = continuation(details)
        if hmac.compare_digest(given, self._token):  # constant time: no guessing byte by byte
            return handler
        return _refusal(handler)


class _Details(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: Any
    compression: Any


class TokenAdder(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                 grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Puts the job's token into every call's metadata."""

    def __init__(self, token: str) -> None:
        self._token = token

    def _details(self, d: Any) -> _Details:
        metadata = [*(d.metadata or ()), (TOKEN_KEY, self._token)]
        return _Details(d.method, d.timeout, metadata, d.credentials, d.wait_for_ready, d.compression)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for mutual TLS: this process's certificate and key, and the CA that signed every peer's."""

    cert: Path
    key: Path
    ca: Path

    def read(self) -> tuple[bytes, bytes, bytes]:
        """The three files' bytes; a missing or unreadable one is named."""
        out = []
        for flag, path in zip(TLS_FLAGS, (self.cert, self.key, self.ca)):
            try:
                out.append(Path(path).read_bytes())
            except OSError as err:
                raise SingaError(f"{flag} {path}: {err.strerror}") from None
        return out[0], out[1], out[2]

    def server_credentials(self) -> grpc.ServerCredentials:
        cert, key, ca = self.read()
        return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=True)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        cert, key, ca = self.read()
        return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)

    def check(self) -> None:
        """Refuse, naming the flag and file, one that is missing or holds no PEM certificate (or key)."""
        for flag, path, data, mark in zip(TLS_FLAGS, (self.cert, self.key, self.ca), self.read(), PEM_MARKS):
            if mark not in data:
                what = "private key" if flag == "--tls-key" else "certificate"
                raise SingaError(f"{flag} {path}: holds no PEM {what}")


def tls_files(cert: str | None, key: str | None, ca: str | None) -> TlsFiles | None:
    """The mutual-TLS files the three flags name, checked; None when none is given. One or two alone
    would leave some connections in plain text, or refuse them all: that is an error."""
    given = [flag for flag, path in zip(TLS_FLAGS, (cert, key, ca)) if path]
    if not given:
        return None
    if len(given) < len(TLS_FLAGS):
        missing = [flag for flag in TLS_FLAGS if flag not in given]
        raise SingaError(f"{' and '.join(given)} without {' and '.join(missing)}: mutual TLS needs all three "
                         "(this process's certificate, its key, and the CA that signed every process's)")
    files = TlsFiles(Path(cert or ""), Path(key or ""), Path(ca or ""))
    files.check()
    return files
