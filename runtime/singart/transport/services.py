"""The services of services.proto served and called as frames (framing.py) through grpcio's generic
handlers: the proto's descriptor names each method, its header types and whether its reply streams.

A servicer is any object with a method per RPC, `Put(request: Framed, context) -> Framed` (an iterator
of Framed for a streamed reply); it stays thin and calls plain functions on plain state."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import grpc
import numpy as np
from google.protobuf.descriptor import Descriptor, MethodDescriptor
from google.protobuf.message import Message
from singa_proto import services_pb2
from singa_spec.errors import SingaError

from .framing import Framed, decode, describe, encode, wire_array, wire_dtype
from .shm import Segment

SERVICES = services_pb2.DESCRIPTOR.services_by_name
CHUNK = 1 << 20  # bytes per message of a streamed reply


def message_type(desc: Descriptor) -> type[Message]:
    return getattr(services_pb2, desc.name)  # type: ignore[no-any-return]


def _decoded(raw: bytes, header_type: type[Message], context: grpc.ServicerContext) -> Framed:
    try:
        return Framed(*decode(raw, header_type))
    except SingaError as err:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        raise  # not reached: abort raises


def _reply_into(header: Message) -> Message | None:
    """The caller's own segment for the reply's tensor, when it asked for one (GetRequest.into)."""
    fields = header.DESCRIPTOR.fields_by_name
    return header.into if "into" in fields and header.HasField("into") else None


def _handler(method: MethodDescriptor, serve: Callable[[Framed, Any], Any]) -> grpc.RpcMethodHandler:
    """One method's handler: raw bytes in and out (no grpc (de)serializers), decoded and encoded here."""
    header_type = message_type(method.input_type)

    def call(raw: bytes, context: grpc.ServicerContext) -> Any:
        request = _decoded(raw, header_type, context)
        try:
            reply = serve(request, context)
            if method.server_streaming:
                return (encode(part) for part in reply)
            return encode(reply, _reply_into(request.header))
        except SingaError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))

    if method.server_streaming:
        return grpc.unary_stream_rpc_method_handler(call)
    return grpc.unary_unary_rpc_method_handler(call)


def add_service(server: grpc.Server, name: str, servicer: object) -> None:
    """Serve the service `name` of services.proto by the servicer's methods of the same names."""
    service = SERVICES[name]
    missing = [m.name for m in service.methods if not callable(getattr(servicer, m.name, None))]
    if missing:
        raise SingaError(f"{type(servicer).__name__} serves {name} without {', '.join(missing)}")
    handlers = {m.name: _handler(m, getattr(servicer, m.name)) for m in service.methods}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))


def _copy(header: Message) -> Message:
    out = type(header)()
    out.CopyFrom(header)
    return out


class Stub:
    """Calls one service's methods over a channel: `Stub(channel, "Params").call("Put", framed)`."""

    def __init__(self, channel: grpc.Channel, name: str) -> None:
        service = SERVICES[name]
        self._methods = {m.name: m for m in service.methods}
        self._calls = {m.name: self._callable(channel, f"/{service.full_name}/{m.name}", m)
                       for m in service.methods}

    @staticmethod
    def _callable(channel: grpc.Channel, path: str, method: MethodDescriptor) -> Any:
        if method.server_streaming:
            return channel.unary_stream(path)
        return channel.unary_unary(path)

    def call(self, method: str, request: Framed, timeout: float | None = None, shm: bool = False,
             reply_bytes: int = 0, segment: Segment | None = None, into: Segment | None = None) -> Framed:
        """One unary call. shm: the request's tensor goes through shared memory (the peer is on this
        host), a fresh segment or the caller's `segment` (kept across calls, grown as needed);
        reply_bytes > 0 or `into`: a reply tensor comes back the same way, into a fresh segment of that
        many bytes or into `into` (the reply's array is then a view of it, valid until its next use)."""
        with ExitStack() as stack:
            header = _copy(request.header)
            if shm and request.tensor is not None and request.tensor.size:
                array = wire_array(request.tensor)
                if segment is None:
                    segment = Segment(array.nbytes)
                    stack.callback(segment.close)  # after the call: the peer has mapped it by then
                segment.ensure(array.nbytes)
                segment.write(array)
                describe(header.tensor, array)  # type: ignore[attr-defined]
                segment.describe(header.tensor.shm)  # type: ignore[attr-defined]
                request = Framed(header)
            if into is None and reply_bytes > 0:
                into = Segment(reply_bytes)
                stack.callback(into.close)
            if into is not None:
                into.describe(header.into)  # type: ignore[attr-defined]
            raw = self._calls[method](encode(Framed(header, request.tensor)), timeout=timeout)
            return Framed(*decode(raw, message_type(self._methods[method].output_type)))

    def stream(self, method: str, request: Framed, timeout: float | None = None) -> Iterator[Framed]:
        """A call whose reply streams: its messages, decoded."""
        reply_type = message_type(self._methods[method].output_type)
        for raw in self._calls[method](encode(request), timeout=timeout):
            yield Framed(*decode(raw, reply_type))


def chunks(header: Message, array: np.ndarray, size: int = CHUNK) -> Iterator[Framed]:
    """A tensor as SliceChunk frames of `size` bytes each, for a streamed reply; `header` is filled in."""
    array = wire_array(array)
    describe(header.whole, array)  # type: ignore[attr-defined]
    flat = array.reshape(-1).view(np.uint8)
    for offset in range(0, max(flat.size, 1), size):
        part = _copy(header)
        part.offset = offset  # type: ignore[attr-defined]
        yield Framed(part, flat[offset:offset + size])


def gather(parts: Iterator[Framed]) -> tuple[Message | None, np.ndarray]:
    """The first header and the whole tensor of a streamed reply."""
    first, out = None, np.empty(0, np.uint8)
    for part in parts:
        if first is None:
            first = part.header
            meta = first.whole  # type: ignore[attr-defined]
            out = np.empty(tuple(meta.shape), wire_dtype(meta.dtype))
        flat = out.reshape(-1).view(np.uint8)
        offset = part.header.offset  # type: ignore[attr-defined]
        if part.tensor is None or offset + part.tensor.size > flat.size:
            raise SingaError(f"a streamed chunk at byte {offset} lies outside its {flat.size}-byte tensor")
        flat[offset:offset + part.tensor.size] = part.tensor
    return first, out

