"""Hints for protobuf's parse errors: the field or enum value a typo was probably meant to be, and the
block a missing `}` left open (protobuf then reports the next layer as an unknown field of the layer
before it)."""
from __future__ import annotations

import difflib
import re

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from singa_proto import job_pb2

from .textmap import Block, TextMap, scan

_NO_FIELD = re.compile(r'Message type "([\w.]+)" has no field named "(\w+)"')
_NO_VALUE = re.compile(r'Enum type "([\w.]+)" has no value named (\w+)')
_NO_EXTENSION = re.compile(r'Extension "([\w.]+)" not registered')
POOL = job_pb2.DESCRIPTOR.pool


def hint(text: str, line: int, col: int, what: str) -> str:
    """A hint ('; ...') to add to protobuf's message `what` about `line`:`col` (1-based) of the job
    text, or ''."""
    m = _NO_FIELD.search(what)
    if m:
        tm = scan(text, stop=_offset(text, line, col))
        return (_missing_brace(tm, m.group(1), m.group(2)) or _extra_brace(tm, m.group(2))
                or did_you_mean(m.group(2), [f.name for f in POOL.FindMessageTypeByName(m.group(1)).fields]))
    m = _NO_VALUE.search(what)
    if m:
        return did_you_mean(m.group(2), [v.name for v in POOL.FindEnumTypeByName(m.group(1)).values])
    if _NO_EXTENSION.search(what):
        return ("; the plugin that defines it is not loaded: give it with --plugin FILE_OR_MODULE (it must "
                "import its generated _pb2 module)")
    return ""


def shorten(what: str) -> str:
    """protobuf's message without its advice on MessageSet fields, which a job file never holds."""
    m = _NO_EXTENSION.search(what)
    return m.group(0) if m else what


def did_you_mean(word: str, names: list[str]) -> str:
    """'; did you mean `x`?' for up to three names close to `word` (a typo's likely intent), or ''."""
    close = difflib.get_close_matches(word, names, n=3, cutoff=0.6)
    return "; did you mean " + " or ".join(f"`{c}`" for c in close) + "?" if close else ""


def _offset(text: str, line: int, col: int) -> int:
    """The character offset of a 1-based line and column."""
    start = 0
    for _ in range(line - 1):
        start = text.index("\n", start) + 1
    return start + col - 1


def _missing_brace(tm: TextMap, type_name: str, name: str) -> str:
    """When `name` belongs to a block enclosing the one the parser is in, say which block is open."""
    blocks = tm.open_blocks
    types = _block_types(blocks)
    if types[-1].full_name != type_name:  # the scan lost its way; better no hint than a wrong one
        return ""
    for depth in range(len(types) - 2, -1, -1):
        if name in types[depth].fields_by_name:
            still_open = blocks[depth]
            outer = f"`{blocks[depth - 1].key[-1][0]}`" if depth else "the job"
            return (f"; a `}}` is probably missing: the `{still_open.key[-1][0]}` block opened at line "
                    f"{still_open.line} is still open, and `{name}` belongs to {outer}")
    return ""


def _extra_brace(tm: TextMap, name: str) -> str:
    """When `name` belongs to the block just closed inside the current one, that `}` came too early."""
    closed = tm.last_closed
    current = tm.open_blocks[-1].key if tm.open_blocks else ()
    if closed is None or closed.key[:-1] != current:
        return ""
    types = _block_types([Block(closed.key[:i + 1], 0) for i in range(len(closed.key))])
    if len(types) <= len(closed.key) or name not in types[-1].fields_by_name:
        return ""
    return (f"; `{name}` belongs to the `{closed.key[-1][0]}` block closed at line {closed.closed}: "
            "did that `}` come too early?")


def _field(message: Descriptor, name: str) -> FieldDescriptor | None:
    """A field of `message` by the name the text gives it: `name`, or an extension's `[pkg.name]`."""
    if not name.startswith("["):
        return message.fields_by_name.get(name)
    try:
        return POOL.FindExtensionByName(name[1:-1])
    except KeyError:
        return None


def _block_types(blocks: list[Block]) -> list[Descriptor]:
    """The message type of the job and of each open block, as far as the field names are known."""
    types = [job_pb2.JobProto.DESCRIPTOR]
    for block in blocks:
        field = _field(types[-1], block.key[-1][0])
        if field is None or field.message_type is None:
            break
        types.append(field.message_type)
    return types
