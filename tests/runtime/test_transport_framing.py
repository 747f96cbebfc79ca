"""Frames of header + raw tensor bytes: every dtype and shape comes back bit for bit, without a copy on
receive, and a peer's header is trusted for nothing (dtype, length)."""
from __future__ import annotations

import numpy as np
import pytest
from singa_proto import services_pb2 as pb
from singa_spec.errors import SingaError
from singart.transport import Framed, decode, encode
from singart.transport.framing import DTYPES

SHAPES = [(), (0,), (3, 0, 2), (1,), (5,), (2, 3), (2, 3, 4)]


def random_array(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Random bits of the dtype (NaNs and infinities included for floats, so 'bit for bit' means it)."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.random.default_rng(7).integers(0, 256, nbytes, dtype=np.uint8)
    if dtype == "bool":
        raw &= 1
    return raw.view(dtype).reshape(shape)


def round_trip(array: np.ndarray) -> np.ndarray:
    header, tensor = decode(encode(Framed(pb.SliceTensor(step=4), array)), pb.SliceTensor)
    assert header.step == 4 and tensor is not None
    return tensor


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_every_dtype_and_shape_round_trips_bit_for_bit(dtype: str, shape: tuple[int, ...]) -> None:
    array = random_array(dtype, shape)
    back = round_trip(array)
    assert back.dtype == array.dtype and back.shape == array.shape
    assert back.tobytes() == array.tobytes()


def test_the_received_array_is_a_view_of_the_frame_and_aligned() -> None:
    frame = encode(Framed(pb.SliceTensor(), np.arange(7, dtype=np.complex128)))
    _, tensor = decode(frame, pb.SliceTensor)
    assert tensor is not None and tensor.base is not None  # no copy: it views the received bytes
    assert not tensor.flags.writeable and tensor.flags.aligned


def test_a_non_contiguous_array_round_trips() -> None:
    array = np.arange(60, dtype=np.float32).reshape(5, 12)[::2, 3::4].T
    assert not array.flags.c_contiguous
    assert np.array_equal(round_trip(array), array)


def test_a_big_endian_array_arrives_little_endian_with_the_same_values() -> None:
    array = (np.arange(6).reshape(2, 3) / 7).astype(">f8")
    assert array.dtype.byteorder == ">"
    back = round_trip(array)
    assert back.dtype == np.dtype("<f8") and np.array_equal(back, array)


@pytest.mark.parametrize("array", [np.array(["a"]), np.array([object()]), np.zeros(2, "i4,f4")], ids=str)
def test_a_dtype_that_is_not_plain_numbers_is_refused_on_send(array: np.ndarray) -> None:
    with pytest.raises(SingaError, match="cannot be sent"):
        encode(Framed(pb.SliceTensor(), array))


def test_a_header_naming_another_dtype_is_refused_on_receive() -> None:
    frame = bytearray(encode(Framed(pb.SliceTensor(), np.zeros(2, np.float32))))
    at = frame.index(b"float32")
    frame[at:at + 7] = b"object_"  # a peer that would have us read Python objects
    with pytest.raises(SingaError, match="dtype 'object_'"):
        decode(bytes(frame), pb.SliceTensor)


def test_a_payload_of_the_wrong_length_is_refused() -> None:
    frame = encode(Framed(pb.SliceTensor(), np.zeros(4, np.float32)))
    with pytest.raises(SingaError, match="needs 16 bytes, the frame holds 12"):
        decode(frame[:-4], pb.SliceTensor)


def test_a_header_only_message_round_trips() -> None:
    header, tensor = decode(encode(Framed(pb.UpdateReply(version=9))), pb.UpdateReply)
    assert header.version == 9 and tensor is None


def test_a_received_float32_is_the_native_dtype_object_the_kernels_take() -> None:
    # the bindings check a dtype by identity: an explicit '<f4' (float32 by value) was refused as
    # "expected float32, got float32"
    from singart import ops
    back = round_trip(np.arange(6, dtype=np.float32))
    assert back.dtype is np.dtype(np.float32)
    out = np.zeros(6, np.float32)
    ops.axpby(2.0, back, 0.0, out)
    np.testing.assert_array_equal(out, 2 * np.arange(6, dtype=np.float32))
