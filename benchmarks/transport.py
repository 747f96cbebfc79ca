"""GB/s of each tensor path of singart's transport between two processes on loopback: a raw-bytes push
(Update), a values reply (Get), a streamed reply (GetStream), and the same-host shared-memory push and
reply. Prints a table of medians with [min-max] over the repeats; asserts nothing.

    python benchmarks/transport.py                       # 1 4 16 64 MB, 7 repeats
    python benchmarks/transport.py --sizes 16 --repeats 3
"""
from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from singa_proto import services_pb2 as pb
from singa_spec.errors import SingaError
from singart.transport import Framed, Stub, add_service, chunks, gather, job_token, local_server, open_channel

TOKEN_ENV = "SINGA_JOB_TOKEN"
KEY = pb.SliceKey(param="w", slice=0)


class Slices:
    """One slice per size, kept as received; Update only counts (the path, not an updater, is timed)."""

    def __init__(self) -> None:
        self.values: dict[int, np.ndarray] = {}

    def Put(self, request: Framed, context: Any) -> Framed:
        self.values[request.header.key.slice] = np.array(request.tensor)
        return Framed(pb.Ack())

    def Get(self, request: Framed, context: Any) -> Framed:
        return Framed(pb.SliceTensor(key=request.header.key), self.values[request.header.key.slice])

    def GetStream(self, request: Framed, context: Any) -> Any:
        key = request.header.key
        return chunks(pb.SliceChunk(key=key), self.values[key.slice])

    def Update(self, request: Framed, context: Any) -> Framed:
        # read every byte, as a server's update does: a path is timed with its receiver touching the data
        total = float(np.add.reduce(request.tensor, dtype=np.float64)) if request.tensor is not None else 0.0
        return Framed(pb.UpdateReply(version=int(math.isfinite(total))))

    def Sync(self, request: Framed, context: Any) -> Framed:
        return self.Get(request, context)

    def History(self, request: Framed, context: Any) -> Any:  # not timed here: the service must have it
        raise SingaError("the transport benchmark keeps no updater history")

    def PutHistory(self, request: Framed, context: Any) -> Any:
        raise SingaError("the transport benchmark keeps no updater history")


def serve() -> None:
    server, address = local_server(job_token())
    add_service(server, "Params", Slices())
    server.start()
    print(address, flush=True)
    sys.stdin.read()
    server.stop(0)


def paths(stub: Stub, mb: int, values: np.ndarray) -> dict[str, Callable[[], Any]]:
    key = pb.SliceKey(param="w", slice=mb)
    get = Framed(pb.GetRequest(key=key))
    return {
        "push (Update, raw bytes)": lambda: stub.call("Update", Framed(pb.SliceTensor(key=key), values)),
        "reply (Get)": lambda: stub.call("Get", get),
        "streamed reply (GetStream)": lambda: gather(stub.stream("GetStream", get)),
        "shm push (Update)": lambda: stub.call("Update", Framed(pb.SliceTensor(key=key), values), shm=True),
        "shm reply (Get)": lambda: stub.call("Get", get, reply_bytes=values.nbytes),
    }


def measure(call: Callable[[], Any], nbytes: int, repeats: int) -> list[float]:
    call()  # warm: connection, first-touch pages
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        rates.append(nbytes / (time.perf_counter() - start) / 1e9)
    return rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16, 64], help="MB per tensor")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        return serve()
    import os
    env = {**os.environ, TOKEN_ENV: os.environ.get(TOKEN_ENV) or job_token()}
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stdout is not None
        stub = Stub(open_channel(server.stdout.readline().strip(), env[TOKEN_ENV]), "Params")
        table: dict[str, list[str]] = {}
        for mb in args.sizes:
            values = np.random.default_rng(0).random(mb << 18, dtype=np.float32)  # mb MB of float32
            stub.call("Put", Framed(pb.SliceTensor(key=pb.SliceKey(param="w", slice=mb)), values))
            for name, call in paths(stub, mb, values).items():
                rates = measure(call, values.nbytes, args.repeats)
                table.setdefault(name, []).append(
                    f"{statistics.median(rates):.2f} [{min(rates):.2f}-{max(rates):.2f}]")
        print(f"GB/s, median [min-max] of {args.repeats}, client and server in two processes on loopback")
        print("| path | " + " | ".join(f"{mb} MB" for mb in args.sizes) + " |")
        print("|---|" + "---|" * len(args.sizes))
        for name, cells in table.items():
            print(f"| {name} | " + " | ".join(cells) + " |")
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
