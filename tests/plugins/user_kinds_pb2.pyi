from singa_proto import job_pb2 as _job_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor
RAMP_CONF_FIELD_NUMBER: _ClassVar[int]
ramp_conf: _descriptor.FieldDescriptor
HALVING_CONF_FIELD_NUMBER: _ClassVar[int]
halving_conf: _descriptor.FieldDescriptor
RECORDING_CONF_FIELD_NUMBER: _ClassVar[int]
recording_conf: _descriptor.FieldDescriptor

class RampProto(_message.Message):
    __slots__ = ("start", "step")
    START_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    start: float
    step: float
    def __init__(self, start: _Optional[float] = ..., step: _Optional[float] = ...) -> None: ...

class RecordingProto(_message.Message):
    __slots__ = ("tag",)
    TAG_FIELD_NUMBER: _ClassVar[int]
    tag: str
    def __init__(self, tag: _Optional[str] = ...) -> None: ...

class HalvingProto(_message.Message):
    __slots__ = ("every",)
    EVERY_FIELD_NUMBER: _ClassVar[int]
    every: int
    def __init__(self, every: _Optional[int] = ...) -> None: ...
