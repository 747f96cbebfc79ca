"""One registry per pluggable kind besides layers (algorithms, updaters, init methods, schedules).

Built-in entries are registered exactly as a plugin's are; each registration also declares its name in
`singa_spec.kinds`, which the compiler checks a job's `user_type` against.
"""
from __future__ import annotations

from typing import Any, Generic, TypeVar

from singa_spec import SingaError
from singa_spec.kinds import declare, is_user, kind_name, same_definition, unknown

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> implementation of one kind ("algorithm", "updater", "init" or "schedule")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Make `item` the implementation of `name`; registering another item under the name is an error
        (the same definition run again replaces it)."""
        if name in self.items and not same_definition(self.items[name], item):
            raise SingaError(f"{self.kind} {name} is registered twice")
        declare(self.kind, name)
        self.items[name] = item
        return item

    def get(self, name: str) -> T:
        """The implementation of `name`; an unknown name is a SingaError listing the registered ones."""
        item = self.items.get(name)
        if item is None:
            raise unknown(self.kind, name, sorted(self.items))
        return item

    def pick(self, conf: Any) -> tuple[str, T, Any]:
        """The name a conf picks (its enum value's or its user_type), that name's implementation, and the
        conf to give it: a user's conf is read again from its bytes, because a plan read before the
        plugin's `_pb2` module was imported holds the plugin's extensions as unknown fields, which
        reading them again parses."""
        name = kind_name(self.kind, conf)
        item = self.get(name)
        if is_user(self.kind, conf):
            conf = type(conf).FromString(conf.SerializeToString())
        return name, item, conf
