from singa_proto import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NodeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    kCompute: _ClassVar[NodeKind]
    kSliceNode: _ClassVar[NodeKind]
    kConcatNode: _ClassVar[NodeKind]
    kSplitNode: _ClassVar[NodeKind]
    kBridgeSrcNode: _ClassVar[NodeKind]
    kBridgeDstNode: _ClassVar[NodeKind]
kCompute: NodeKind
kSliceNode: NodeKind
kConcatNode: NodeKind
kSplitNode: NodeKind
kBridgeSrcNode: NodeKind
kBridgeDstNode: NodeKind

class Range(_message.Message):
    __slots__ = ("axis", "begin", "end")
    AXIS_FIELD_NUMBER: _ClassVar[int]
    BEGIN_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    axis: int
    begin: int
    end: int
    def __init__(self, axis: _Optional[int] = ..., begin: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class ParamRef(_message.Message):
    __slots__ = ("role", "param", "block")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARAM_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    role: str
    param: str
    block: Range
    def __init__(self, role: _Optional[str] = ..., param: _Optional[str] = ..., block: _Optional[_Union[Range, _Mapping]] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ("name", "kind", "origin", "conf", "worker", "partition_id", "partition_dim", "num_partitions", "shape", "srcs", "params", "block", "cut", "axis", "peer", "origin_shape")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    CONF_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTITION_DIM_FIELD_NUMBER: _ClassVar[int]
    NUM_PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    SRCS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    CUT_FIELD_NUMBER: _ClassVar[int]
    AXIS_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_SHAPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: NodeKind
    origin: str
    conf: _job_pb2.LayerProto
    worker: int
    partition_id: int
    partition_dim: int
    num_partitions: int
    shape: _containers.RepeatedScalarFieldContainer[int]
    srcs: _containers.RepeatedScalarFieldContainer[str]
    params: _containers.RepeatedCompositeFieldContainer[ParamRef]
    block: _containers.RepeatedCompositeFieldContainer[Range]
    cut: Range
    axis: int
    peer: str
    origin_shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[NodeKind, str]] = ..., origin: _Optional[str] = ..., conf: _Optional[_Union[_job_pb2.LayerProto, _Mapping]] = ..., worker: _Optional[int] = ..., partition_id: _Optional[int] = ..., partition_dim: _Optional[int] = ..., num_partitions: _Optional[int] = ..., shape: _Optional[_Iterable[int]] = ..., srcs: _Optional[_Iterable[str]] = ..., params: _Optional[_Iterable[_Union[ParamRef, _Mapping]]] = ..., block: _Optional[_Iterable[_Union[Range, _Mapping]]] = ..., cut: _Optional[_Union[Range, _Mapping]] = ..., axis: _Optional[int] = ..., peer: _Optional[str] = ..., origin_shape: _Optional[_Iterable[int]] = ...) -> None: ...

class PhaseGraph(_message.Message):
    __slots__ = ("phase", "num_partitions", "nodes")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    NUM_PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    phase: _job_pb2.Phase
    num_partitions: int
    nodes: _containers.RepeatedCompositeFieldContainer[Node]
    def __init__(self, phase: _Optional[_Union[_job_pb2.Phase, str]] = ..., num_partitions: _Optional[int] = ..., nodes: _Optional[_Iterable[_Union[Node, _Mapping]]] = ...) -> None: ...

class ParamSlice(_message.Message):
    __slots__ = ("slice_id", "offset", "size", "server", "master_group")
    SLICE_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    MASTER_GROUP_FIELD_NUMBER: _ClassVar[int]
    slice_id: int
    offset: int
    size: int
    server: int
    master_group: int
    def __init__(self, slice_id: _Optional[int] = ..., offset: _Optional[int] = ..., size: _Optional[int] = ..., server: _Optional[int] = ..., master_group: _Optional[int] = ...) -> None: ...

class ParamEntry(_message.Message):
    __slots__ = ("name", "layer", "role", "shape", "conf", "share_from", "id", "slices", "num_shares")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    CONF_FIELD_NUMBER: _ClassVar[int]
    SHARE_FROM_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    SLICES_FIELD_NUMBER: _ClassVar[int]
    NUM_SHARES_FIELD_NUMBER: _ClassVar[int]
    name: str
    layer: str
    role: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    conf: _job_pb2.ParamProto
    share_from: str
    id: int
    slices: _containers.RepeatedCompositeFieldContainer[ParamSlice]
    num_shares: int
    def __init__(self, name: _Optional[str] = ..., layer: _Optional[str] = ..., role: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., conf: _Optional[_Union[_job_pb2.ParamProto, _Mapping]] = ..., share_from: _Optional[str] = ..., id: _Optional[int] = ..., slices: _Optional[_Iterable[_Union[ParamSlice, _Mapping]]] = ..., num_shares: _Optional[int] = ...) -> None: ...

class ProcessRole(_message.Message):
    __slots__ = ("rank", "workers", "servers")
    class Executor(_message.Message):
        __slots__ = ("group", "id")
        GROUP_FIELD_NUMBER: _ClassVar[int]
        ID_FIELD_NUMBER: _ClassVar[int]
        group: int
        id: int
        def __init__(self, group: _Optional[int] = ..., id: _Optional[int] = ...) -> None: ...
    RANK_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    rank: int
    workers: _containers.RepeatedCompositeFieldContainer[ProcessRole.Executor]
    servers: _containers.RepeatedCompositeFieldContainer[ProcessRole.Executor]
    def __init__(self, rank: _Optional[int] = ..., workers: _Optional[_Iterable[_Union[ProcessRole.Executor, _Mapping]]] = ..., servers: _Optional[_Iterable[_Union[ProcessRole.Executor, _Mapping]]] = ...) -> None: ...

class Topology(_message.Message):
    __slots__ = ("cluster", "nworker_procs", "nserver_procs", "nprocs", "framework")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    NWORKER_PROCS_FIELD_NUMBER: _ClassVar[int]
    NSERVER_PROCS_FIELD_NUMBER: _ClassVar[int]
    NPROCS_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    cluster: _job_pb2.ClusterProto
    nworker_procs: int
    nserver_procs: int
    nprocs: int
    framework: str
    def __init__(self, cluster: _Optional[_Union[_job_pb2.ClusterProto, _Mapping]] = ..., nworker_procs: _Optional[int] = ..., nserver_procs: _Optional[int] = ..., nprocs: _Optional[int] = ..., framework: _Optional[str] = ...) -> None: ...

class PluginRef(_message.Message):
    __slots__ = ("name", "how")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOW_FIELD_NUMBER: _ClassVar[int]
    name: str
    how: str
    def __init__(self, name: _Optional[str] = ..., how: _Optional[str] = ...) -> None: ...

class PlanProto(_message.Message):
    __slots__ = ("job", "source", "graphs", "params", "topology", "roles", "format_version", "plugins", "content_hash")
    JOB_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    GRAPHS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    TOPOLOGY_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLUGINS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.JobProto
    source: str
    graphs: _containers.RepeatedCompositeFieldContainer[PhaseGraph]
    params: _containers.RepeatedCompositeFieldContainer[ParamEntry]
    topology: Topology
    roles: _containers.RepeatedCompositeFieldContainer[ProcessRole]
    format_version: str
    plugins: _containers.RepeatedCompositeFieldContainer[PluginRef]
    content_hash: str
    def __init__(self, job: _Optional[_Union[_job_pb2.JobProto, _Mapping]] = ..., source: _Optional[str] = ..., graphs: _Optional[_Iterable[_Union[PhaseGraph, _Mapping]]] = ..., params: _Optional[_Iterable[_Union[ParamEntry, _Mapping]]] = ..., topology: _Optional[_Union[Topology, _Mapping]] = ..., roles: _Optional[_Iterable[_Union[ProcessRole, _Mapping]]] = ..., format_version: _Optional[str] = ..., plugins: _Optional[_Iterable[_Union[PluginRef, _Mapping]]] = ..., content_hash: _Optional[str] = ...) -> None: ...
