"""Character-level text corpora as record shards: a vocabulary, a train/validation split, and windows of
`unroll_len + 1` character ids, laid out so that consecutive batches continue each row's text.

A window is a record of shape [unroll_len + 1] whose pixels are the ids (float `data` when the
vocabulary outgrows a byte), so kShardData reads it unchanged; kTokens takes its first unroll_len ids,
and with `tokens_conf { next: true }` its last unroll_len (the next character at each step). The text is
cut into `streams` contiguous pieces and record `k * streams + b` is window k of piece b: with batchsize = streams, row b
of batch k + 1 goes on where row b of batch k stopped, which truncated BPTT needs to carry state over.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable

import numpy as np
from singa_spec.files import write_atomic

from .convert import write_image_shard
from .shard import ShardError

VOCAB_FILE = "vocab.json"
SHARDS = ("text_train_shard", "text_valid_shard")


def pydoc_topics() -> str:
    """The Python help topics (the language reference's prose and grammar) that ship with CPython."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


# texts that ship with Python or the project's dependencies, so the example needs no download
BUILTIN: dict[str, Callable[[], str]] = {"pydoc-topics": pydoc_topics}
DEFAULT_BUILTIN = "pydoc-topics"


def builtin_text(name: str) -> str:
    """A built-in corpus by name; an unknown name lists the known ones."""
    if name not in BUILTIN:
        raise ShardError(f"--builtin {name}: unknown text; known: {', '.join(sorted(BUILTIN))}")
    return BUILTIN[name]()


def read_text(path: str) -> str:
    """A UTF-8 text file; a bad one is a ShardError naming it (and the offending byte)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8")
    except OSError as err:
        raise ShardError(f"{path}: cannot read text: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise ShardError(f"{path}: byte {err.start} is not UTF-8 ({err.reason})") from None


def encode(text: str, vocab: list[str], where: str = "text") -> np.ndarray:
    """Ids [len(text)] of the characters of `text` in `vocab`; an unknown one is named."""
    index = {c: i for i, c in enumerate(vocab)}
    missing = next((c for c in text if c not in index), None)
    if missing is not None:
        raise ShardError(f"{where}: character {missing!r} is not in the vocabulary")
    return np.fromiter((index[c] for c in text), np.int64, len(text))


def stream_windows(ids: np.ndarray, streams: int, unroll_len: int, what: str) -> np.ndarray:
    """Windows [W * streams, unroll_len + 1], record k * streams + b being window k of piece b."""
    piece = (len(ids) - 1) // streams  # each piece's last label is the next piece's first id
    per_stream = piece // unroll_len
    if per_stream < 1:
        raise ShardError(f"{what}: {len(ids)} characters make no window of {unroll_len + 1} in each of "
                         f"{streams} streams; lower --streams or --unroll-len")
    starts = np.arange(streams)[None, :] * piece + np.arange(per_stream)[:, None] * unroll_len
    return ids[starts.reshape(-1, 1) + np.arange(unroll_len + 1)]


def convert_text(text: str, out_dir: str, unroll_len: int, streams: int, valid_fraction: float,
                 source: str, interval: float = 3.0) -> dict[str, int]:
    """Write text_train_shard, text_valid_shard and vocab.json; returns records per shard."""
    if not text:
        raise ShardError(f"{source}: the text is empty")
    if not 0.0 < valid_fraction < 1.0:
        raise ShardError(f"--valid-fraction {valid_fraction}: must lie between 0 and 1")
    vocab = sorted(set(text))
    ids = encode(text, vocab, source)
    cut = len(ids) - int(len(ids) * valid_fraction)  # the validation text is the end of the corpus
    parts = {SHARDS[0]: ids[:cut], SHARDS[1]: ids[cut:]}
    windows = {name: stream_windows(part, streams, unroll_len, f"{source}: {name}")
               for name, part in parts.items()}
    counts = {name: write_image_shard(os.path.join(out_dir, name), _record_values(w, len(vocab)),
                                      np.zeros(len(w), np.int32), interval)
              for name, w in windows.items()}
    write_vocab(os.path.join(out_dir, VOCAB_FILE), vocab, source, {n: len(p) for n, p in parts.items()})
    return counts


def _record_values(windows: np.ndarray, vocab_size: int) -> np.ndarray:
    # a byte per id while ids fit one (pixel records); float32 holds ids exactly up to 2**24
    return windows.astype(np.uint8 if vocab_size <= 256 else np.float32)


def write_vocab(path: str, vocab: list[str], source: str, chars: dict[str, int]) -> None:
    """vocab.json: the characters in id order, where the text came from, characters per split."""
    body = {"source": source, "chars": vocab, "characters": chars}
    try:
        write_atomic(path, json.dumps(body, ensure_ascii=False, indent=1).encode())
    except OSError as err:
        raise ShardError(f"{path}: cannot write the vocabulary: {err.strerror or err}") from None


def read_vocab(path: str) -> list[str]:
    """The characters of a vocab.json in id order."""
    try:
        with open(path, encoding="utf-8") as f:
            chars = json.load(f)["chars"]
    except OSError as err:
        raise ShardError(f"{path}: cannot read the vocabulary: {err.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise ShardError(f"{path}: not a vocabulary file (JSON with a `chars` list)") from None
    if not isinstance(chars, list) or not all(isinstance(c, str) and len(c) == 1 for c in chars):
        raise ShardError(f"{path}: `chars` must be a list of single characters")
    return chars
