from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    kBridgeForward: _ClassVar[Direction]
    kBridgeBackward: _ClassVar[Direction]
kBridgeForward: Direction
kBridgeBackward: Direction

class SharedMemory(_message.Message):
    __slots__ = ("pid", "fd", "size")
    PID_FIELD_NUMBER: _ClassVar[int]
    FD_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    pid: int
    fd: int
    size: int
    def __init__(self, pid: _Optional[int] = ..., fd: _Optional[int] = ..., size: _Optional[int] = ...) -> None: ...

class TensorMeta(_message.Message):
    __slots__ = ("dtype", "shape", "shm")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    SHM_FIELD_NUMBER: _ClassVar[int]
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    shm: SharedMemory
    def __init__(self, dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., shm: _Optional[_Union[SharedMemory, _Mapping]] = ...) -> None: ...

class SliceKey(_message.Message):
    __slots__ = ("param", "slice")
    PARAM_FIELD_NUMBER: _ClassVar[int]
    SLICE_FIELD_NUMBER: _ClassVar[int]
    param: str
    slice: int
    def __init__(self, param: _Optional[str] = ..., slice: _Optional[int] = ...) -> None: ...

class SliceTensor(_message.Message):
    __slots__ = ("key", "group", "step", "version", "tensor", "shares", "slot")
    KEY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    key: SliceKey
    group: int
    step: int
    version: int
    tensor: TensorMeta
    shares: int
    slot: str
    def __init__(self, key: _Optional[_Union[SliceKey, _Mapping]] = ..., group: _Optional[int] = ..., step: _Optional[int] = ..., version: _Optional[int] = ..., tensor: _Optional[_Union[TensorMeta, _Mapping]] = ..., shares: _Optional[int] = ..., slot: _Optional[str] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("key", "min_version", "into", "group", "slot")
    KEY_FIELD_NUMBER: _ClassVar[int]
    MIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    INTO_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    key: SliceKey
    min_version: int
    into: SharedMemory
    group: int
    slot: str
    def __init__(self, key: _Optional[_Union[SliceKey, _Mapping]] = ..., min_version: _Optional[int] = ..., into: _Optional[_Union[SharedMemory, _Mapping]] = ..., group: _Optional[int] = ..., slot: _Optional[str] = ...) -> None: ...

class SliceChunk(_message.Message):
    __slots__ = ("key", "version", "whole", "offset", "tensor")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WHOLE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    key: SliceKey
    version: int
    whole: TensorMeta
    offset: int
    tensor: TensorMeta
    def __init__(self, key: _Optional[_Union[SliceKey, _Mapping]] = ..., version: _Optional[int] = ..., whole: _Optional[_Union[TensorMeta, _Mapping]] = ..., offset: _Optional[int] = ..., tensor: _Optional[_Union[TensorMeta, _Mapping]] = ...) -> None: ...

class UpdateReply(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    def __init__(self, version: _Optional[int] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClipRequest(_message.Message):
    __slots__ = ("group", "server", "step", "scale")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    group: int
    server: int
    step: int
    scale: float
    def __init__(self, group: _Optional[int] = ..., server: _Optional[int] = ..., step: _Optional[int] = ..., scale: _Optional[float] = ...) -> None: ...

class ClipReply(_message.Message):
    __slots__ = ("square_sum",)
    SQUARE_SUM_FIELD_NUMBER: _ClassVar[int]
    square_sum: float
    def __init__(self, square_sum: _Optional[float] = ...) -> None: ...

class BridgeTensor(_message.Message):
    __slots__ = ("step", "edge", "direction", "tensor")
    STEP_FIELD_NUMBER: _ClassVar[int]
    EDGE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    step: int
    edge: str
    direction: Direction
    tensor: TensorMeta
    def __init__(self, step: _Optional[int] = ..., edge: _Optional[str] = ..., direction: _Optional[_Union[Direction, str]] = ..., tensor: _Optional[_Union[TensorMeta, _Mapping]] = ...) -> None: ...

class Peer(_message.Message):
    __slots__ = ("rank", "role", "address")
    RANK_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    rank: int
    role: str
    address: str
    def __init__(self, rank: _Optional[int] = ..., role: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class RegisterRequest(_message.Message):
    __slots__ = ("peer", "plan_hash")
    PEER_FIELD_NUMBER: _ClassVar[int]
    PLAN_HASH_FIELD_NUMBER: _ClassVar[int]
    peer: Peer
    plan_hash: str
    def __init__(self, peer: _Optional[_Union[Peer, _Mapping]] = ..., plan_hash: _Optional[str] = ...) -> None: ...

class RegisterReply(_message.Message):
    __slots__ = ("peers",)
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedCompositeFieldContainer[Peer]
    def __init__(self, peers: _Optional[_Iterable[_Union[Peer, _Mapping]]] = ...) -> None: ...

class BarrierRequest(_message.Message):
    __slots__ = ("rank", "name", "value")
    RANK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    rank: int
    name: str
    value: int
    def __init__(self, rank: _Optional[int] = ..., name: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...

class BarrierReply(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: int
    def __init__(self, value: _Optional[int] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("rank",)
    RANK_FIELD_NUMBER: _ClassVar[int]
    rank: int
    def __init__(self, rank: _Optional[int] = ...) -> None: ...

class HeartbeatReply(_message.Message):
    __slots__ = ("stop", "reason")
    STOP_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    stop: bool
    reason: str
    def __init__(self, stop: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class Metric(_message.Message):
    __slots__ = ("name", "sum")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUM_FIELD_NUMBER: _ClassVar[int]
    name: str
    sum: float
    def __init__(self, name: _Optional[str] = ..., sum: _Optional[float] = ...) -> None: ...

class MetricsRequest(_message.Message):
    __slots__ = ("rank", "step", "phase", "count", "metrics")
    RANK_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    rank: int
    step: int
    phase: str
    count: int
    metrics: _containers.RepeatedCompositeFieldContainer[Metric]
    def __init__(self, rank: _Optional[int] = ..., step: _Optional[int] = ..., phase: _Optional[str] = ..., count: _Optional[int] = ..., metrics: _Optional[_Iterable[_Union[Metric, _Mapping]]] = ...) -> None: ...

class StopRequest(_message.Message):
    __slots__ = ("rank", "reason")
    RANK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    rank: int
    reason: str
    def __init__(self, rank: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...
