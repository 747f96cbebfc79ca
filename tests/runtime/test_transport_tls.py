"""Mutual TLS with certificates made here by the openssl command: a client with a certificate the job's
CA signed gets through; one without a certificate, with another CA's, or without TLS is refused."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grpc
import numpy as np
import pytest
from singa_proto import services_pb2 as pb
from singa_spec.errors import SingaError
from singart.transport import Framed, Stub, TlsFiles, open_channel

from .transport_util import TOKEN, peer

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    openssl("req", "-x509", *KEY_ARGS, "-keyout", folder / f"{name}.key", "-out", folder / f"{name}.pem",
            "-days", "1", "-subj", f"/CN={name}")
    return folder / f"{name}.pem", folder / f"{name}.key"


def make_cert(folder: Path, name: str, ca: tuple[Path, Path]) -> TlsFiles:
    """A certificate for 127.0.0.1 (both ends use it as client and server) signed by `ca`."""
    key, csr, cert, ext = (folder / f"{name}{s}" for s in (".key", ".csr", ".pem", ".ext"))
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("req", *KEY_ARGS, "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial", "-out", cert,
            "-days", "1", "-extfile", ext)
    return TlsFiles(cert, key, ca[0])


def heartbeat(channel: grpc.Channel) -> pb.HeartbeatReply:
    return Stub(channel, "Coordinator").call("Heartbeat", Framed(pb.HeartbeatRequest(rank=1)), timeout=10).header


def refused(channel: grpc.Channel) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        heartbeat(channel)
    return err.value.code()


def test_mutual_tls(tmp_path: Path) -> None:
    ca, other_ca = make_ca(tmp_path, "job-ca"), make_ca(tmp_path, "other-ca")
    server, client = make_cert(tmp_path, "server", ca), make_cert(tmp_path, "client", ca)
    stranger = make_cert(tmp_path, "stranger", other_ca)
    with peer(server.cert, server.key, server.ca) as (_, address):
        channel = open_channel(address, TOKEN, client)
        assert heartbeat(channel).stop is False
        sent = np.arange(1000, dtype=np.float64)
        stub, key = Stub(channel, "Params"), pb.SliceKey(param="tls", slice=0)
        stub.call("Put", Framed(pb.SliceTensor(key=key), sent))
        assert np.array_equal(stub.call("Get", Framed(pb.GetRequest(key=key))).tensor, sent)  # type: ignore[arg-type]

        no_cert = grpc.ssl_channel_credentials(root_certificates=ca[0].read_bytes())
        assert refused(grpc.secure_channel(address, no_cert)) == grpc.StatusCode.UNAVAILABLE
        assert refused(open_channel(address, TOKEN, stranger)) == grpc.StatusCode.UNAVAILABLE
        assert refused(open_channel(address, TOKEN)) == grpc.StatusCode.UNAVAILABLE  # no TLS at all


def test_a_missing_tls_file_is_named(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "job-ca")
    with pytest.raises(SingaError, match=r"--tls-key .*nokey.pem: No such file"):
        TlsFiles(ca[0], tmp_path / "nokey.pem", ca[0]).server_credentials()
