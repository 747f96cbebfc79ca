"""Keyword arguments into protobuf fields, as the text format writes them: the proto's own field and
enum names, nested messages as dicts, repeated fields as lists (one value may stand alone), and
extensions by their full name in brackets, as in a job file (`"[my.foo_conf]": {...}`)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from singa_spec import SingaError
from singac.hints import did_you_mean

F = FieldDescriptor
EXPECTED = {F.CPPTYPE_STRING: "a string", F.CPPTYPE_BOOL: "True or False", F.CPPTYPE_FLOAT: "a number",
            F.CPPTYPE_DOUBLE: "a number"}  # the rest are whole numbers


def fill(message: Message, fields: Mapping[str, Any], where: str) -> Message:
    """Set `fields` on `message`; a mistake is a SingaError naming `where`, the field and the value."""
    for key, value in fields.items():
        field, path = _field(message, key, where), f"{where}.{key}"
        try:
            _fill_one(message, field, value, path)
        except ValueError as err:  # protobuf's own range checks (a negative uint32, say)
            raise SingaError(f"{path}: {err}") from None
    return message


def _fill_one(message: Message, field: FieldDescriptor, value: Any, path: str) -> None:
    """One field from its Python value."""
    if field.is_repeated:
        values = value if isinstance(value, (list, tuple)) else [value]
        for i, item in enumerate(values):
            _add(_get(message, field), field, item, f"{path}[{i}]")
    elif field.message_type is not None:
        _merge(_get(message, field), value, path)
    elif field.is_extension:
        message.Extensions[field] = _scalar(field, value, path)  # type: ignore[index]
    else:
        setattr(message, field.name, _scalar(field, value, path))


def _field(message: Message, key: str, where: str) -> FieldDescriptor:
    """The field (or bracketed extension) `key` names, or an error with the names a typo was meant to be."""
    desc = message.DESCRIPTOR
    if key.startswith("[") and key.endswith("]"):
        try:
            ext = desc.file.pool.FindExtensionByName(key[1:-1])
        except KeyError:
            ext = None
        if ext is None or ext.containing_type is not desc:
            raise SingaError(f"{where}: no extension `{key[1:-1]}` of {desc.name} is loaded (import the "
                             "module that defines it first)")
        return ext
    field = desc.fields_by_name.get(key)
    if field is None:
        hint = did_you_mean(key, list(desc.fields_by_name))
        raise SingaError(f"{where}: {desc.name} has no field `{key}`{hint}")
    return field


def _get(message: Message, field: FieldDescriptor) -> Any:
    """The field's container (a repeated field or a nested message)."""
    return message.Extensions[field] if field.is_extension else getattr(message, field.name)  # type: ignore[index]


def _add(container: Any, field: FieldDescriptor, value: Any, path: str) -> None:
    if field.message_type is not None:
        _merge(container.add(), value, path)
    else:
        container.append(_scalar(field, value, path))


def _merge(sub: Message, value: Any, path: str) -> None:
    """A nested message from a dict of its fields (or a message of its type)."""
    if isinstance(value, Message) and value.DESCRIPTOR is sub.DESCRIPTOR:
        sub.MergeFrom(value)
    elif isinstance(value, Mapping):
        sub.SetInParent()  # `updater={}` sets the field, as `updater {}` does in text
        fill(sub, value, path)
    else:
        raise SingaError(f"{path}: expected a dict of {sub.DESCRIPTOR.name}'s fields, got {value!r}")


def _scalar(field: FieldDescriptor, value: Any, path: str) -> Any:
    """The value checked against the field's type; enums by name (or number), as the text writes them."""
    if field.enum_type is not None:
        enum = field.enum_type
        if isinstance(value, str) and value in enum.values_by_name:
            return enum.values_by_name[value].number
        if isinstance(value, int) and not isinstance(value, bool) and value in enum.values_by_number:
            return value
        hint = did_you_mean(value, list(enum.values_by_name)) if isinstance(value, str) else ""
        raise SingaError(f"{path}: {enum.name} has no value {value!r}{hint}")
    kind = EXPECTED.get(field.cpp_type, "a whole number")
    ok = {"a string": isinstance(value, str), "True or False": isinstance(value, bool),
          "a number": isinstance(value, (int, float)) and not isinstance(value, bool),
          "a whole number": isinstance(value, int) and not isinstance(value, bool)}[kind]
    if not ok:
        raise SingaError(f"{path}: expected {kind}, got {value!r}")
    return value
