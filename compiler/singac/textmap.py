"""Where each field of a job file is: a small scan of the protobuf text that keeps the line of every
field occurrence and of every block still open, so that errors found after parsing (a bad value, a
missing `}`) can name a line. protobuf's Python parser keeps no positions, hence this scan."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Comments, strings, bracketed extension names (`[pkg.ext]`), punctuation and words (names and numbers);
# anything else is one character.
_TOKEN = re.compile(r"""\#[^\n]*|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?|\[\s*[A-Za-z_][\w.]*\s*\]|"""
                    r"""[{}<>:\[\];,]|[^\s{}<>:\[\];,"'#]+""")

_FOLLOWS_NAME = re.compile(r"(?:\s|#[^\n]*)*[:{<]")

Key = tuple[tuple[str, int], ...]  # (field name, occurrence within its block) from the job down


@dataclass
class Block:
    """An open message block: its key and the line of its opening brace."""

    key: Key
    line: int
    counts: dict[str, int] = field(default_factory=dict)
    closed: int = 0  # the line of its closing brace, once closed
    list_name: str = ""  # the field of the `[...]` list open in this block, if any


@dataclass
class TextMap:
    """The line of every field occurrence, the blocks still open where the scan stopped, and the
    last block closed before that."""

    lines: dict[Key, int]
    open_blocks: list[Block]
    last_closed: Block | None = None


def scan(text: str, stop: int | None = None) -> TextMap:
    """Scan `text` (up to the character offset `stop`, exclusive, when given)."""
    tm = TextMap({}, [Block((), 0)])
    name, line, pos, prev = "", 1, 0, ""
    for m in _TOKEN.finditer(text):
        if stop is not None and m.start() >= stop:
            break
        line += text.count("\n", pos, m.start())
        pos = m.start()
        tok = m.group()
        if tok.startswith("#"):
            continue
        top = tm.open_blocks[-1]
        if prev == "," and top.list_name and tok not in ("]", "}", ">"):
            name = top.list_name  # a further element of `field: [a, b]`: another occurrence of field
            _occurs(tm, top, name, line)
        if tok == "[":
            top.list_name = name
        elif tok == "]":
            top.list_name = ""
        elif tok in ("{", "<"):
            tm.open_blocks.append(Block(top.key + ((name, top.counts.get(name, 1) - 1),), line))
        elif tok in ("}", ">"):
            if len(tm.open_blocks) > 1:
                tm.last_closed = tm.open_blocks.pop()
                tm.last_closed.closed = line
        elif _is_extension(tok, prev) and _expects_name(text, m.end()):
            name = "[" + tok[1:-1].strip() + "]"  # an extension's field, keyed as protobuf prints it
            _occurs(tm, top, name, line)
        elif _is_name(tok) and _expects_name(text, m.end()):
            name = tok
            _occurs(tm, top, name, line)
        prev = tok
    tm.open_blocks = tm.open_blocks[1:]
    return tm


def _occurs(tm: TextMap, block: Block, name: str, line: int) -> None:
    """One more occurrence of the field `name` in `block`, at `line`."""
    block.counts[name] = block.counts.get(name, 0) + 1
    tm.lines.setdefault(block.key + ((name, block.counts[name] - 1),), line)


def _is_name(tok: str) -> bool:
    return re.fullmatch(r"[A-Za-z_]\w*", tok) is not None


def _is_extension(tok: str, prev: str) -> bool:
    """`[pkg.ext]` names an extension field, unless it is a one-element list value (`exclude: [kTest]`)."""
    return tok.startswith("[") and len(tok) > 1 and prev != ":"


def _expects_name(text: str, end: int) -> bool:
    """A word is a field name when a `:` or a block's opening brace follows it."""
    return _FOLLOWS_NAME.match(text, end) is not None


def line_at(tm: TextMap, key: Key) -> int | None:
    """The line of the field at `key`, or of the closest enclosing field the text sets."""
    while key:
        if key in tm.lines:
            return tm.lines[key]
        key = key[:-1]
    return None
