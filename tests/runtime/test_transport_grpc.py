"""Every service over a real gRPC server in another process on loopback: tensors round-trip on every
path (raw bytes, streamed reply, shared memory both ways), a call without the job's token is refused on
every method, the server listens on loopback only, and shared memory never outlives a dead client."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from singa_proto import services_pb2 as pb
from singa_spec.errors import SingaError
from singart.transport import SERVICES, Framed, Stub, build_server, gather, local_server, open_channel
from singart.transport.framing import encode

from .transport_util import TOKEN, memfds, peer

KEY = pb.SliceKey(param="w", slice=1)


@pytest.fixture(scope="module")
def remote() -> Iterator[tuple[subprocess.Popen[str], str]]:
    with peer() as got:
        yield got


def params(address: str) -> Stub:
    return Stub(open_channel(address, TOKEN), "Params")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool", "float16", "complex64"])
def test_put_then_get_returns_the_same_bits_on_every_path(remote: tuple, dtype: str) -> None:
    stub, array = params(remote[1]), (np.arange(-30, 30) * 1.37).astype(dtype).reshape(3, 4, 5)
    key = pb.SliceKey(param=f"p-{dtype}", slice=0)
    stub.call("Put", Framed(pb.SliceTensor(key=key), array[:, ::2]), shm=True)
    expected = np.ascontiguousarray(array[:, ::2]).tobytes()
    get = Framed(pb.GetRequest(key=key))
    assert stub.call("Get", get).tensor.tobytes() == expected  # type: ignore[union-attr]
    via_shm = stub.call("Get", get, reply_bytes=len(expected)).tensor
    assert via_shm is not None and via_shm.tobytes() == expected and via_shm.shape == (3, 2, 5)
    _, streamed = gather(stub.stream("GetStream", get))
    assert streamed.tobytes() == expected and streamed.dtype == np.dtype(dtype)


def test_update_then_get_sees_the_gradient_applied(remote: tuple) -> None:
    stub = params(remote[1])
    stub.call("Put", Framed(pb.SliceTensor(key=KEY), np.full(1 << 20, 5, np.float32)))  # 4 MB: above the default limit
    reply = stub.call("Update", Framed(pb.SliceTensor(key=KEY, step=0), np.ones(1 << 20, np.float32)), shm=True)
    assert reply.header.version == 1  # type: ignore[attr-defined]
    got = stub.call("Sync", Framed(pb.SliceTensor(key=KEY), np.ones(1 << 20, np.float32)))
    assert got.header.version == 2 and np.all(got.tensor == 3)  # type: ignore[attr-defined]


def test_clip_calls_carry_their_header_only_messages(remote: tuple) -> None:
    stub, key = params(remote[1]), pb.SliceKey(param="clip", slice=2)
    stub.call("Put", Framed(pb.SliceTensor(key=key), np.array([3, 4], np.float32)))
    reply = stub.call("SquareSum", Framed(pb.ClipRequest(group=0, server=2, step=5)))
    assert reply.header.square_sum == 25.0 and reply.tensor is None  # type: ignore[attr-defined]
    stub.call("ApplyClipped", Framed(pb.ClipRequest(group=0, server=2, step=5, scale=0.5)))
    assert np.array_equal(stub.call("Get", Framed(pb.GetRequest(key=key))).tensor, [1.5, 2])  # type: ignore[arg-type]


def test_a_bridge_tensor_waits_for_its_receiver(remote: tuple) -> None:
    channel = open_channel(remote[1], TOKEN)
    sent = np.arange(6, dtype=np.float32).reshape(2, 3)
    Stub(channel, "Bridges").call("Send", Framed(pb.BridgeTensor(step=7, edge="fc1>fc2"), sent))
    got = params(remote[1]).call("Get", Framed(pb.GetRequest(key=pb.SliceKey(param="bridge:fc1>fc2", slice=7))))
    assert np.array_equal(got.tensor, sent)  # type: ignore[arg-type]


def raw_call(channel: grpc.Channel, service: str, method: pb.MethodDescriptor, metadata: list) -> grpc.StatusCode:
    path = f"/{SERVICES[service].full_name}/{method.name}"
    frame = encode(Framed(pb.Ack()))  # any request: it must be refused before it is read
    try:
        if method.server_streaming:
            list(channel.unary_stream(path)(frame, metadata=metadata, timeout=10))
        else:
            channel.unary_unary(path)(frame, metadata=metadata, timeout=10)
    except grpc.RpcError as err:
        return err.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("metadata", [[], [("x-singa-token", "wrong")], [("x-singa-token", TOKEN[:-1])]],
                         ids=["no-token", "wrong-token", "prefix-of-token"])
def test_every_method_refuses_a_call_without_the_token(remote: tuple, metadata: list) -> None:
    channel = grpc.insecure_channel(remote[1])
    codes = {f"{s}.{m.name}": raw_call(channel, s, m, metadata) for s in SERVICES for m in SERVICES[s].methods}
    assert len(codes) == 15  # Params 9, Bridges 1, Coordinator 5
    assert set(codes.values()) == {grpc.StatusCode.UNAUTHENTICATED}, codes


def test_the_token_lets_a_call_through(remote: tuple) -> None:
    channel = grpc.insecure_channel(remote[1])
    method = SERVICES["Coordinator"].methods_by_name["Heartbeat"]
    assert raw_call(channel, "Coordinator", method, [("x-singa-token", TOKEN)]) == grpc.StatusCode.OK


def own_address() -> str | None:
    """This host's address on its default route, or None when it has none but loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a documentation address: nothing is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_a_local_server_listens_on_loopback_only(remote: tuple) -> None:
    host, port = remote[1].rsplit(":", 1)
    assert host == "127.0.0.1"
    other = own_address()
    if other is None:
        pytest.skip("this host has no address but loopback")
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect((other, int(port)))


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0", ":0", "localhost"])
def test_a_wildcard_or_malformed_address_is_refused(address: str) -> None:
    with pytest.raises(SingaError, match="every interface|not HOST:PORT"):
        build_server([address], TOKEN)


def test_a_port_in_use_is_an_error_not_a_shared_port() -> None:
    first, address = local_server(TOKEN)
    with pytest.raises(SingaError, match=f"cannot listen on {address}"):
        build_server([address], TOKEN)
    first.stop(0)


def test_a_file_that_is_not_a_tensor_segment_is_refused(remote: tuple) -> None:
    with open(__file__, "rb") as secret:  # a peer naming any (pid, fd) must not make the server read it
        header = pb.SliceTensor(key=KEY)
        header.tensor.dtype, header.tensor.shape[:] = "uint8", [16]
        header.tensor.shm.pid, header.tensor.shm.fd, header.tensor.shm.size = os.getpid(), secret.fileno(), 16
        with pytest.raises(grpc.RpcError) as err:
            params(remote[1]).call("Put", Framed(header))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "not a tensor segment" in err.value.details()


CLIENT = textwrap.dedent("""
    import sys, numpy as np
    from singa_proto import services_pb2 as pb
    from singart.transport import Framed, Stub, open_channel
    stub = Stub(open_channel(sys.argv[1], sys.argv[2]), "Params")
    key = pb.SliceKey(param="dying", slice=0)
    stub.call("Put", Framed(pb.SliceTensor(key=key), np.zeros(1 << 21, np.float32)), shm=True)
    print("sending", flush=True)
    while True:
        stub.call("Update", Framed(pb.SliceTensor(key=key), np.ones(1 << 21, np.float32)), shm=True)
        stub.call("Get", Framed(pb.GetRequest(key=key)), reply_bytes=8 << 20)
""")


def test_shared_memory_is_freed_when_the_client_is_killed(remote: tuple) -> None:
    before = sorted(os.listdir("/dev/shm"))
    client = subprocess.Popen([sys.executable, "-c", CLIENT, remote[1], TOKEN], stdout=subprocess.PIPE, text=True)
    assert client.stdout is not None and client.stdout.readline() == "sending\n"
    time.sleep(0.5)  # mid-way through calls that hold segments
    client.send_signal(signal.SIGKILL)
    client.wait(timeout=10)
    deadline = time.monotonic() + 10
    while memfds(remote[0].pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert memfds(remote[0].pid) == []
    assert sorted(os.listdir("/dev/shm")) == before
