"""A peer process for the transport tests: serves Params, Bridges and Coordinator on loopback with the
token in SINGA_JOB_TOKEN (and mutual TLS when given cert, key and CA paths), prints `listening on
HOST:PORT`, and serves until stdin closes. Its Params keeps slices in a dict; Bridges hands received
tensors back through Params.Get under the param name `bridge:EDGE`."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from singa_proto import services_pb2 as pb
from singart.distributed.bridges_rpc import Inbox, InboxServicer
from singart.transport import (
    Framed,
    TlsFiles,
    add_service,
    chunks,
    job_token,
    local_server,
)


def give_up_after(seconds: float) -> Any:
    """A check for Inbox.take that ends the wait once `seconds` have passed."""
    deadline = time.monotonic() + seconds

    def check() -> None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing arrived in {seconds} s")
    return check


class EchoParams:
    """Slices by (param, slice): Put stores, Update subtracts the gradient, Get and Sync return them."""

    def __init__(self, mailbox: Inbox) -> None:
        self.slices: dict[tuple[str, int], np.ndarray] = {}
        self.versions: dict[tuple[str, int], int] = {}
        self.mailbox = mailbox

    def Put(self, request: Framed, context: Any) -> Framed:
        key = (request.header.key.param, request.header.key.slice)
        self.slices[key], self.versions[key] = np.array(request.tensor), 0
        return Framed(pb.Ack())

    def values(self, key_msg: Any) -> tuple[pb.SliceTensor, np.ndarray]:
        key = (key_msg.param, key_msg.slice)
        if key[0].startswith("bridge:"):  # the test reads what a Bridges.Send delivered
            return pb.SliceTensor(key=key_msg), self.mailbox.take((key[1], key[0][7:], pb.kBridgeForward),
                                                                  give_up_after(10.0), 0.5)
        return pb.SliceTensor(key=key_msg, version=self.versions[key]), self.slices[key]

    def Get(self, request: Framed, context: Any) -> Framed:
        return Framed(*self.values(request.header.key))

    def GetStream(self, request: Framed, context: Any) -> Any:
        header, array = self.values(request.header.key)
        return chunks(pb.SliceChunk(key=header.key, version=header.version), array)

    def Update(self, request: Framed, context: Any) -> Framed:
        key = (request.header.key.param, request.header.key.slice)
        self.slices[key] = self.slices[key] - request.tensor
        self.versions[key] += 1
        return Framed(pb.UpdateReply(version=self.versions[key]))

    def Sync(self, request: Framed, context: Any) -> Framed:
        self.Update(request, context)
        return self.Get(request, context)

    def History(self, request: Framed, context: Any) -> Any:
        return self.GetStream(request, context)

    def PutHistory(self, request: Framed, context: Any) -> Framed:
        return self.Put(request, context)

    def SquareSum(self, request: Framed, context: Any) -> Framed:
        """The square sum of slice ("clip", request's server)."""
        value = self.slices["clip", request.header.server].astype(np.float64)
        return Framed(pb.ClipReply(square_sum=float(np.dot(value, value))))

    def ApplyClipped(self, request: Framed, context: Any) -> Framed:
        """Slice ("clip", request's server) times the request's scale."""
        key = ("clip", request.header.server)
        self.slices[key] = self.slices[key] * np.float32(request.header.scale)
        return Framed(pb.Ack())


class EchoCoordinator:
    """Answers every Coordinator call at once (the tests here check the transport, not coordination)."""

    def Register(self, request: Framed, context: Any) -> Framed:
        return Framed(pb.RegisterReply(peers=[request.header.peer]))

    def Barrier(self, request: Framed, context: Any) -> Framed:
        return Framed(pb.BarrierReply(value=request.header.value))

    def Heartbeat(self, request: Framed, context: Any) -> Framed:
        return Framed(pb.HeartbeatReply(stop=False))

    def Metrics(self, request: Framed, context: Any) -> Framed:
        return Framed(pb.Ack())

    def Stop(self, request: Framed, context: Any) -> Framed:
        return Framed(pb.Ack())


def main(argv: list[str]) -> None:
    tls = TlsFiles(*map(Path, argv)) if argv else None
    server, address = local_server(job_token(), tls)
    mailbox = Inbox()
    add_service(server, "Params", EchoParams(mailbox))
    add_service(server, "Bridges", InboxServicer(mailbox))
    add_service(server, "Coordinator", EchoCoordinator())
    server.start()
    print(f"listening on {address}", flush=True)
    sys.stdin.read()
    server.stop(0)


if __name__ == "__main__":
    main(sys.argv[1:])
