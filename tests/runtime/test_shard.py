"""DataShard: the byte layout, writer and reader API, kAppend recovery, and one-line errors."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest
from singart.data.records import decode_shard, image_record
from singart.data.shard import DataShard, ShardError, kAppend, kCreate, shard_file


def _write(folder, n, start=0):
    with DataShard(str(folder), kCreate if start == 0 else kAppend) as shard:
        for i in range(start, start + n):
            assert shard.insert(f"{i:05d}", image_record((2, 3), i % 10, pixel=bytes([i % 256] * 6)))
        shard.flush()


def test_layout_is_little_endian_size_t(tmp_path):
    record = image_record((1, 2), 7, pixel=b"\x01\x02")
    with DataShard(str(tmp_path), kCreate) as shard:
        shard.insert("k1", record)
    value = record.SerializeToString()
    expected = struct.pack("<Q", 2) + b"k1" + struct.pack("<Q", len(value)) + value
    assert Path(shard_file(str(tmp_path))).read_bytes() == expected


def test_roundtrip_next_seek_count(tmp_path):
    _write(tmp_path, 5)
    shard = DataShard(str(tmp_path))
    assert shard.count() == 5
    keys = []
    while (item := shard.next()) is not None:
        keys.append(item[0])
        assert list(item[1].image.shape) == [2, 3]
    assert keys == [f"{i:05d}" for i in range(5)]
    shard.seek_to_first()
    key, record = shard.next()
    assert key == "00000" and record.image.label == 0
    assert [k for k, _ in shard] == keys


def test_insert_rejects_duplicate_keys_and_empty_values(tmp_path):
    with DataShard(str(tmp_path), kCreate) as shard:
        assert shard.insert("a", image_record((1,), 1, pixel=b"\x00"))
        assert not shard.insert("a", image_record((1,), 2, pixel=b"\x01"))
        assert not shard.insert("b", b"")
    assert DataShard(str(tmp_path)).count() == 1


def test_append_truncates_a_torn_last_tuple_and_keeps_keys(tmp_path):
    _write(tmp_path, 3)
    path = shard_file(str(tmp_path))
    with open(path, "ab") as f:  # a writer that died half way through a tuple
        f.write(struct.pack("<Q", 5) + b"00003" + struct.pack("<Q", 100) + b"xx")
    with DataShard(str(tmp_path), kAppend) as shard:
        assert not shard.insert("00001", image_record((2, 3), 1, pixel=bytes(6)))
        assert shard.insert("00003", image_record((2, 3), 3, pixel=bytes(6)))
    arrays = decode_shard(str(tmp_path))
    assert len(arrays) == 4 and arrays.labels.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("cut", [4, 12, 30])
def test_truncated_shard_names_file_and_record(tmp_path, cut):
    _write(tmp_path, 3)
    path = shard_file(str(tmp_path))
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) - cut])
    with pytest.raises(ShardError, match=r"shard\.dat: record 2: truncated") as err:
        list(DataShard(str(tmp_path)))
    assert "\n" not in str(err.value)
    with pytest.raises(ShardError, match="record 2"):
        DataShard(str(tmp_path)).count()
    with pytest.raises(ShardError, match="record 2"):
        decode_shard(str(tmp_path))


def test_corrupt_record_names_file_and_record(tmp_path):
    _write(tmp_path, 2)
    path = shard_file(str(tmp_path))
    with open(path, "ab") as f:
        f.write(struct.pack("<Q", 1) + b"z" + struct.pack("<Q", 3) + b"\xff\xff\xff")
    with pytest.raises(ShardError, match=r"record 2: corrupt Record"):
        list(DataShard(str(tmp_path)))


def test_missing_shard_and_wrong_mode(tmp_path):
    with pytest.raises(ShardError, match="shard.dat: cannot open shard"):
        DataShard(str(tmp_path / "nope"))
    _write(tmp_path, 1)
    with pytest.raises(ShardError, match="opened for reading"):
        DataShard(str(tmp_path)).insert("x", b"1")


def test_mixed_record_shapes_are_rejected(tmp_path):
    with DataShard(str(tmp_path), kCreate) as shard:
        shard.insert("0", image_record((2, 2), 0, pixel=bytes(4)))
        shard.insert("1", image_record((3, 3), 0, pixel=bytes(9)))
    with pytest.raises(ShardError, match=r"record 1: image shape \[3, 3\]"):
        decode_shard(str(tmp_path))
