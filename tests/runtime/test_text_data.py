"""`singart data text`: windows of character ids in stream order, the vocabulary, the split, the parser
layer kTokens (ids and next-token labels), and one-line errors of the real command."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format
from singa_proto import job_pb2, plan_pb2
from singa_spec import shapes
from singart.data.records import RecordBatch, decode_shard
from singart.data.text import SHARDS, VOCAB_FILE, convert_text, read_vocab, stream_windows
from singart.layers import LayerContext, make_layer

TEXT = "".join(f"line {i}: the quick brown fox jumps over the lazy dog.\n" for i in range(40))


def singart(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "singart"  # the installed console script, as users run it
    return subprocess.run([str(exe), *args], check=False, capture_output=True, text=True, timeout=300)


def _decode(folder: Path, name: str) -> np.ndarray:
    return decode_shard(str(folder / name)).images.astype(np.int64)


def test_windows_continue_each_stream_from_batch_to_batch() -> None:
    ids = np.arange(1000)
    w = stream_windows(ids, streams=4, unroll_len=10, what="t")
    piece, per_stream = 999 // 4, 999 // 4 // 10
    assert w.shape == (per_stream * 4, 11)
    for b in range(4):
        rows = w[b::4]  # what row b of consecutive batches of 4 reads
        np.testing.assert_array_equal(rows[1:, 0], rows[:-1, -1])  # a window's last id starts the next
        np.testing.assert_array_equal(rows[:, :-1].ravel(), ids[b * piece:b * piece + per_stream * 10])


def test_shards_hold_the_text_and_its_vocabulary(tmp_path: Path) -> None:
    counts = convert_text(TEXT, str(tmp_path), unroll_len=8, streams=3, valid_fraction=0.25, source="t")
    vocab = read_vocab(str(tmp_path / VOCAB_FILE))
    assert vocab == sorted(set(TEXT))
    train, valid = (_decode(tmp_path, name) for name in SHARDS)
    assert counts == {SHARDS[0]: len(train), SHARDS[1]: len(valid)} and train.shape[1] == 9
    cut = len(TEXT) - len(TEXT) // 4
    piece = (cut - 1) // 3
    stream0 = "".join(vocab[i] for i in train[0::3, :-1].ravel())
    assert TEXT[:cut].startswith(stream0) and len(stream0) == piece // 8 * 8
    first_valid = "".join(vocab[i] for i in valid[0])
    assert first_valid == TEXT[cut:cut + 9]  # the validation text is the end of the corpus


def test_a_large_vocabulary_is_stored_as_float_ids(tmp_path: Path) -> None:
    text = "".join(chr(0x4E00 + i % 300) for i in range(2000))  # 300 distinct characters
    convert_text(text, str(tmp_path), unroll_len=5, streams=2, valid_fraction=0.5, source="t")
    train = decode_shard(str(tmp_path / SHARDS[0])).images
    assert train.dtype == np.float32 and train.max() == 299
    vocab = read_vocab(str(tmp_path / VOCAB_FILE))
    assert "".join(vocab[int(i)] for i in train[0]) == text[:6]


def _parser(extra: str) -> object:
    conf = text_format.Parse(f'name: "x" type: kTokens {extra}', job_pb2.LayerProto())
    ctx = LayerContext(node=plan_pb2.Node(name="x", conf=conf), in_shapes=(), seed=1, train=True)
    return make_layer("kTokens", ctx)


def test_tokens_and_next_tokens_cut_the_windows() -> None:
    windows = np.arange(24, dtype=np.uint8).reshape(4, 6)
    batch = RecordBatch(windows, np.zeros(4, np.int32))
    ids, nxt = (_parser(extra).forward([batch], [], 0) for extra in ("", "tokens_conf { next: true }"))
    assert ids.dtype == nxt.dtype == np.int32 and ids.shape == (4, 5) and nxt.shape == (20,)
    np.testing.assert_array_equal(ids, windows[:, :5])
    np.testing.assert_array_equal(nxt, windows[:, 1:].reshape(-1))  # batch-major, as the unrolled rows
    conf = job_pb2.LayerProto()
    assert shapes.tokens(conf, [(64, 51)]) == (64, 50)
    conf.tokens_conf.next = True
    assert shapes.tokens(conf, [(64, 51)]) == (64 * 50,)
    with pytest.raises(shapes.ShapeError, match="at least 2 token ids"):
        shapes.tokens(conf, [(64, 28, 28)])


def test_the_command_writes_shards_of_a_file(tmp_path: Path) -> None:
    src = tmp_path / "corpus.txt"
    src.write_text(TEXT, encoding="utf-8")
    proc = singart("data", "text", str(src), "-o", str(tmp_path / "out"), "--unroll-len", "10",
                   "--streams", "4")
    assert proc.returncode == 0, proc.stderr
    train = _decode(tmp_path / "out", SHARDS[0])
    assert f"{SHARDS[0]}: {len(train)} records" in proc.stdout and train.shape[1] == 11


def test_the_builtin_text_needs_no_file(tmp_path: Path) -> None:
    proc = singart("data", "text", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    train, valid = (_decode(tmp_path, name) for name in SHARDS)
    assert train.shape[1] == 51 and len(train) % 64 == 0 and len(valid) % 64 == 0
    assert len(train) * 50 > 300_000  # the Python help topics: hundreds of kilobytes of prose
    assert "pydoc-topics (Python 3." in (tmp_path / VOCAB_FILE).read_text()


@pytest.mark.parametrize(("content", "extra", "words"), [
    (None, [], ["nothere.txt", "cannot read text"]),
    (b"abc\xff\xfe", [], ["corpus.txt", "byte 3 is not UTF-8"]),
    (b"short text", [], ["no window of 51", "--streams"]),
    (TEXT.encode(), ["--builtin", "pydoc-topics"], ["corpus.txt", "not both"]),
    (TEXT.encode(), ["--valid-fraction", "1.5"], ["--valid-fraction 1.5"]),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: bytes | None, extra: list[str],
                                          words: list[str]) -> None:
    src = tmp_path / ("nothere.txt" if content is None else "corpus.txt")
    if content is not None:
        src.write_bytes(content)
    proc = singart("data", "text", str(src), "-o", str(tmp_path / "out"), *extra)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert not (tmp_path / "out" / VOCAB_FILE).exists()
