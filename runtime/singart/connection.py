"""Bridge channels between the worker threads of one group: tensors are handed over by reference."""
from __future__ import annotations

import threading
from typing import Any, Protocol


class Aborted(Exception):
    """Raised in a worker waiting on a bridge when another worker of its group failed."""


class Mailbox:
    """A one-slot hand-over from one thread to another; `get` blocks until `put`, or until abort."""

    def __init__(self, cond: threading.Condition, aborted: threading.Event) -> None:
        self._cond = cond
        self._aborted = aborted
        self._full = False
        self._item: Any = None

    def put(self, item: Any) -> None:
        """Hand `item` over; a second put before the matching get is a plan error."""
        with self._cond:
            if self._full:
                raise RuntimeError("bridge mailbox written twice before being read")
            self._item, self._full = item, True
            self._cond.notify_all()

    def get(self) -> Any:
        """Take the item handed over, waiting for it."""
        with self._cond:
            while not self._full:
                if self._aborted.is_set():
                    raise Aborted("another worker of the group failed")
                self._cond.wait()
            item, self._item, self._full = self._item, None, False
            return item


class Channel:
    """One bridge pair: `forward` carries the tensor to the consumer, `backward` its gradient back."""

    def __init__(self, cond: threading.Condition, aborted: threading.Event) -> None:
        self.forward = Mailbox(cond, aborted)
        self.backward = Mailbox(cond, aborted)


class Channels:
    """The bridge channels of one worker group, created on first use and keyed by the bridge_src node."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._aborted = threading.Event()
        self._channels: dict[str, Channel] = {}

    def get(self, src_name: str) -> Channel:
        """The channel of the bridge pair whose source node is `src_name`."""
        with self._cond:
            if src_name not in self._channels:
                self._channels[src_name] = Channel(self._cond, self._aborted)
            return self._channels[src_name]

    def abort(self) -> None:
        """Wake every waiting worker with `Aborted` (one worker failed; the others must not hang)."""
        with self._cond:
            self._aborted.set()
            self._cond.notify_all()


class Hand(Protocol):
    """One direction of a bridge pair, as the executor uses it."""

    def put(self, item: Any) -> None: ...

    def get(self) -> Any: ...


class Pair(Protocol):
    """A bridge pair as the executor uses it: the tensor forward, its gradient backward."""

    @property
    def forward(self) -> Hand: ...

    @property
    def backward(self) -> Hand: ...


class ChannelSet(Protocol):
    """What the executor needs of a group's bridges: `Channels` here, or ones that reach other
    processes (distributed/bridges_rpc.py)."""

    def get(self, src_name: str) -> Pair: ...

    def abort(self) -> None: ...
