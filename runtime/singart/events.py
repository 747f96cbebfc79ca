"""Metrics as TensorBoard event files under `<workspace>/events/`.

A file is a sequence of records, each framed as TensorBoard (TFRecord) frames them: the length as a
little-endian uint64, the masked CRC-32C of those 8 bytes, the data, the masked CRC-32C of the data.
"""
from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

from singa_proto import event_pb2

FILE_VERSION = "brain.Event:2"


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1  # Castagnoli, reflected
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of `data`."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits and add a constant."""
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """One TFRecord record around `data`."""
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", masked_crc(head)) + data + struct.pack("<I", masked_crc(data))


def read_records(path: str | Path) -> list[bytes]:
    """The records of a TFRecord file, checking both CRCs of each (a bad one raises ValueError)."""
    blob, pos, out = Path(path).read_bytes(), 0, []
    while pos < len(blob):
        head = blob[pos:pos + 8]
        (n,) = struct.unpack("<Q", head)
        (hcrc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        data = blob[pos + 12:pos + 12 + n]
        (dcrc,) = struct.unpack("<I", blob[pos + 12 + n:pos + 16 + n])
        if hcrc != masked_crc(head) or dcrc != masked_crc(data) or len(data) != n:
            raise ValueError(f"{path}: corrupt record at byte {pos}")
        out.append(data)
        pos += 16 + n
    return out


def read_scalars(folder: str | Path) -> list[tuple[str, int, float]]:
    """Every (tag, step, value) in the event files of `folder`, in file and record order."""
    out = []
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        for data in read_records(path):
            ev = event_pb2.Event.FromString(data)
            if ev.HasField("summary"):
                out += [(v.tag, int(ev.step), float(v.simple_value)) for v in ev.summary.value]
    return out


class EventWriter:
    """Appends scalar summaries to one new event file in `folder`."""

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}"
        self.path = folder / name
        self._file = open(self.path, "ab")  # noqa: SIM115 -- open for the whole run; close() ends it
        self._write(event_pb2.Event(wall_time=time.time(), file_version=FILE_VERSION))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Record `values` ({tag: value}) at `step`."""
        summary = event_pb2.Summary(value=[event_pb2.Summary.Value(tag=t, simple_value=float(v))
                                           for t, v in values.items()])
        self._write(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

    def _write(self, event: event_pb2.Event) -> None:
        self._file.write(frame(event.SerializeToString()))
        self._file.flush()  # so TensorBoard sees the curve while training runs

    def close(self) -> None:
        """Close the file."""
        self._file.close()
