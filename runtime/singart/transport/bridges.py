"""The receiving end of bridge tensors: Send puts a tensor in a mailbox keyed by step, edge and
direction; the worker that needs it takes it, waiting until it is there."""
from __future__ import annotations

import threading
from typing import Any

import numpy as np
from singa_proto import services_pb2
from singa_spec.errors import SingaError

from .framing import Framed

Key = tuple[int, str, int]  # step, edge, direction (services_pb2.kBridgeForward / kBridgeBackward)


class Mailbox:
    """Tensors that arrived and are not yet taken; each key is delivered once."""

    def __init__(self) -> None:
        self._ready: dict[Key, np.ndarray] = {}
        self._changed = threading.Condition()

    def put(self, key: Key, tensor: np.ndarray) -> None:
        with self._changed:
            if key in self._ready:
                raise SingaError(f"bridge {key[1]} step {key[0]}: a second tensor for the same direction")
            self._ready[key] = tensor
            self._changed.notify_all()

    def take(self, key: Key, timeout: float | None = None) -> np.ndarray:
        """The tensor for `key`, waiting for it up to `timeout` seconds (None: for ever)."""
        with self._changed:
            if not self._changed.wait_for(lambda: key in self._ready, timeout):
                raise TimeoutError(f"bridge {key[1]} step {key[0]}: nothing arrived in {timeout} s")
            return self._ready.pop(key)


class BridgeServicer:
    """The Bridges service over a mailbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    def Send(self, request: Framed, context: Any) -> Framed:  # named as the RPC
        header = request.header
        if request.tensor is None:
            raise SingaError(f"bridge {header.edge} step {header.step}: a Send without a tensor")  # type: ignore[attr-defined]
        self.mailbox.put((header.step, header.edge, header.direction), request.tensor)  # type: ignore[attr-defined]
        return Framed(services_pb2.Ack())
