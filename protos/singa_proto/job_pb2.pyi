from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf.internal import python_message as _python_message
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    kUnknown: _ClassVar[Phase]
    kTrain: _ClassVar[Phase]
    kVal: _ClassVar[Phase]
    kTest: _ClassVar[Phase]
    kPositive: _ClassVar[Phase]
    kNegative: _ClassVar[Phase]
    kForward: _ClassVar[Phase]
    kBackward: _ClassVar[Phase]
    kLoss: _ClassVar[Phase]

class LayerType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    kShardData: _ClassVar[LayerType]
    kLMDBData: _ClassVar[LayerType]
    kPrefetch: _ClassVar[LayerType]
    kLabel: _ClassVar[LayerType]
    kMnist: _ClassVar[LayerType]
    kRGBImage: _ClassVar[LayerType]
    kConvolution: _ClassVar[LayerType]
    kCConvolution: _ClassVar[LayerType]
    kPooling: _ClassVar[LayerType]
    kCPooling: _ClassVar[LayerType]
    kDropout: _ClassVar[LayerType]
    kInnerProduct: _ClassVar[LayerType]
    kLRN: _ClassVar[LayerType]
    kReLU: _ClassVar[LayerType]
    kSTanh: _ClassVar[LayerType]
    kSigmoid: _ClassVar[LayerType]
    kRBMVis: _ClassVar[LayerType]
    kRBMHid: _ClassVar[LayerType]
    kSoftmaxLoss: _ClassVar[LayerType]
    kEuclideanLoss: _ClassVar[LayerType]
    kConcate: _ClassVar[LayerType]
    kSlice: _ClassVar[LayerType]
    kSplit: _ClassVar[LayerType]
    kBridgeSrc: _ClassVar[LayerType]
    kBridgeDst: _ClassVar[LayerType]
    kTanh: _ClassVar[LayerType]
    kEmbedding: _ClassVar[LayerType]
    kRNN: _ClassVar[LayerType]
    kGRU: _ClassVar[LayerType]
    kLSTM: _ClassVar[LayerType]
    kStack: _ClassVar[LayerType]
    kTokens: _ClassVar[LayerType]
    kUserLayer: _ClassVar[LayerType]

class InitMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    kConstant: _ClassVar[InitMethod]
    kConst: _ClassVar[InitMethod]
    kGaussian: _ClassVar[InitMethod]
    kUniform: _ClassVar[InitMethod]
    kGaussianSqrtFanIn: _ClassVar[InitMethod]
    kUniformSqrtFanIn: _ClassVar[InitMethod]
    kUniformSqrtFanInOut: _ClassVar[InitMethod]
    kUniformFanInOut: _ClassVar[InitMethod]
    kUserInit: _ClassVar[InitMethod]

class AlgType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    kBP: _ClassVar[AlgType]
    kCD: _ClassVar[AlgType]
    kBPTT: _ClassVar[AlgType]
    kUserAlg: _ClassVar[AlgType]

class UpdaterType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    kSGD: _ClassVar[UpdaterType]
    kAdaGrad: _ClassVar[UpdaterType]
    kRMSProp: _ClassVar[UpdaterType]
    kNesterov: _ClassVar[UpdaterType]
    kAdam: _ClassVar[UpdaterType]
    kUserUpdater: _ClassVar[UpdaterType]

class ChangeMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    kFixed: _ClassVar[ChangeMethod]
    kInverseT: _ClassVar[ChangeMethod]
    kInverse: _ClassVar[ChangeMethod]
    kExponential: _ClassVar[ChangeMethod]
    kLinear: _ClassVar[ChangeMethod]
    kStep: _ClassVar[ChangeMethod]
    kFixedStep: _ClassVar[ChangeMethod]
    kUserChange: _ClassVar[ChangeMethod]
kUnknown: Phase
kTrain: Phase
kVal: Phase
kTest: Phase
kPositive: Phase
kNegative: Phase
kForward: Phase
kBackward: Phase
kLoss: Phase
kShardData: LayerType
kLMDBData: LayerType
kPrefetch: LayerType
kLabel: LayerType
kMnist: LayerType
kRGBImage: LayerType
kConvolution: LayerType
kCConvolution: LayerType
kPooling: LayerType
kCPooling: LayerType
kDropout: LayerType
kInnerProduct: LayerType
kLRN: LayerType
kReLU: LayerType
kSTanh: LayerType
kSigmoid: LayerType
kRBMVis: LayerType
kRBMHid: LayerType
kSoftmaxLoss: LayerType
kEuclideanLoss: LayerType
kConcate: LayerType
kSlice: LayerType
kSplit: LayerType
kBridgeSrc: LayerType
kBridgeDst: LayerType
kTanh: LayerType
kEmbedding: LayerType
kRNN: LayerType
kGRU: LayerType
kLSTM: LayerType
kStack: LayerType
kTokens: LayerType
kUserLayer: LayerType
kConstant: InitMethod
kConst: InitMethod
kGaussian: InitMethod
kUniform: InitMethod
kGaussianSqrtFanIn: InitMethod
kUniformSqrtFanIn: InitMethod
kUniformSqrtFanInOut: InitMethod
kUniformFanInOut: InitMethod
kUserInit: InitMethod
kBP: AlgType
kCD: AlgType
kBPTT: AlgType
kUserAlg: AlgType
kSGD: UpdaterType
kAdaGrad: UpdaterType
kRMSProp: UpdaterType
kNesterov: UpdaterType
kAdam: UpdaterType
kUserUpdater: UpdaterType
kFixed: ChangeMethod
kInverseT: ChangeMethod
kInverse: ChangeMethod
kExponential: ChangeMethod
kLinear: ChangeMethod
kStep: ChangeMethod
kFixedStep: ChangeMethod
kUserChange: ChangeMethod

class JobProto(_message.Message):
    __slots__ = ("name", "neuralnet", "train_one_batch", "updater", "cluster", "train_steps", "disp_freq", "test_freq", "test_steps", "validate_freq", "validate_steps", "checkpoint_freq", "checkpoint_keep", "checkpoint_path", "warmup_steps", "debug", "reset_param_version", "num_openblas_threads", "checkpoint_after", "disp_after", "test_after", "validate_after", "resume", "step", "id", "seed")
    Extensions: _python_message._ExtensionDict
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEURALNET_FIELD_NUMBER: _ClassVar[int]
    TRAIN_ONE_BATCH_FIELD_NUMBER: _ClassVar[int]
    UPDATER_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    TRAIN_STEPS_FIELD_NUMBER: _ClassVar[int]
    DISP_FREQ_FIELD_NUMBER: _ClassVar[int]
    TEST_FREQ_FIELD_NUMBER: _ClassVar[int]
    TEST_STEPS_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_FREQ_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_STEPS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FREQ_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_KEEP_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_PATH_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    DEBUG_FIELD_NUMBER: _ClassVar[int]
    RESET_PARAM_VERSION_FIELD_NUMBER: _ClassVar[int]
    NUM_OPENBLAS_THREADS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_AFTER_FIELD_NUMBER: _ClassVar[int]
    DISP_AFTER_FIELD_NUMBER: _ClassVar[int]
    TEST_AFTER_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_AFTER_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    name: str
    neuralnet: NetProto
    train_one_batch: AlgProto
    updater: UpdaterProto
    cluster: ClusterProto
    train_steps: int
    disp_freq: int
    test_freq: int
    test_steps: int
    validate_freq: int
    validate_steps: int
    checkpoint_freq: int
    checkpoint_keep: int
    checkpoint_path: _containers.RepeatedScalarFieldContainer[str]
    warmup_steps: int
    debug: bool
    reset_param_version: bool
    num_openblas_threads: int
    checkpoint_after: int
    disp_after: int
    test_after: int
    validate_after: int
    resume: bool
    step: int
    id: int
    seed: int
    def __init__(self, name: _Optional[str] = ..., neuralnet: _Optional[_Union[NetProto, _Mapping]] = ..., train_one_batch: _Optional[_Union[AlgProto, _Mapping]] = ..., updater: _Optional[_Union[UpdaterProto, _Mapping]] = ..., cluster: _Optional[_Union[ClusterProto, _Mapping]] = ..., train_steps: _Optional[int] = ..., disp_freq: _Optional[int] = ..., test_freq: _Optional[int] = ..., test_steps: _Optional[int] = ..., validate_freq: _Optional[int] = ..., validate_steps: _Optional[int] = ..., checkpoint_freq: _Optional[int] = ..., checkpoint_keep: _Optional[int] = ..., checkpoint_path: _Optional[_Iterable[str]] = ..., warmup_steps: _Optional[int] = ..., debug: _Optional[bool] = ..., reset_param_version: _Optional[bool] = ..., num_openblas_threads: _Optional[int] = ..., checkpoint_after: _Optional[int] = ..., disp_after: _Optional[int] = ..., test_after: _Optional[int] = ..., validate_after: _Optional[int] = ..., resume: _Optional[bool] = ..., step: _Optional[int] = ..., id: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class ClusterProto(_message.Message):
    __slots__ = ("nworker_groups", "nserver_groups", "nworkers_per_group", "nservers_per_group", "nworkers_per_procs", "nservers_per_procs", "workspace", "log_dir", "zookeeper_host", "server_worker_separate", "nprocs", "start_port", "share_memory", "sync_freq", "poll_time", "stub_timeout", "worker_timeout", "server_timeout")
    NWORKER_GROUPS_FIELD_NUMBER: _ClassVar[int]
    NSERVER_GROUPS_FIELD_NUMBER: _ClassVar[int]
    NWORKERS_PER_GROUP_FIELD_NUMBER: _ClassVar[int]
    NSERVERS_PER_GROUP_FIELD_NUMBER: _ClassVar[int]
    NWORKERS_PER_PROCS_FIELD_NUMBER: _ClassVar[int]
    NSERVERS_PER_PROCS_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    LOG_DIR_FIELD_NUMBER: _ClassVar[int]
    ZOOKEEPER_HOST_FIELD_NUMBER: _ClassVar[int]
    SERVER_WORKER_SEPARATE_FIELD_NUMBER: _ClassVar[int]
    NPROCS_FIELD_NUMBER: _ClassVar[int]
    START_PORT_FIELD_NUMBER: _ClassVar[int]
    SHARE_MEMORY_FIELD_NUMBER: _ClassVar[int]
    SYNC_FREQ_FIELD_NUMBER: _ClassVar[int]
    POLL_TIME_FIELD_NUMBER: _ClassVar[int]
    STUB_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKER_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    nworker_groups: int
    nserver_groups: int
    nworkers_per_group: int
    nservers_per_group: int
    nworkers_per_procs: int
    nservers_per_procs: int
    workspace: str
    log_dir: str
    zookeeper_host: str
    server_worker_separate: bool
    nprocs: int
    start_port: int
    share_memory: bool
    sync_freq: int
    poll_time: int
    stub_timeout: int
    worker_timeout: int
    server_timeout: int
    def __init__(self, nworker_groups: _Optional[int] = ..., nserver_groups: _Optional[int] = ..., nworkers_per_group: _Optional[int] = ..., nservers_per_group: _Optional[int] = ..., nworkers_per_procs: _Optional[int] = ..., nservers_per_procs: _Optional[int] = ..., workspace: _Optional[str] = ..., log_dir: _Optional[str] = ..., zookeeper_host: _Optional[str] = ..., server_worker_separate: _Optional[bool] = ..., nprocs: _Optional[int] = ..., start_port: _Optional[int] = ..., share_memory: _Optional[bool] = ..., sync_freq: _Optional[int] = ..., poll_time: _Optional[int] = ..., stub_timeout: _Optional[int] = ..., worker_timeout: _Optional[int] = ..., server_timeout: _Optional[int] = ...) -> None: ...

class NetProto(_message.Message):
    __slots__ = ("layer", "partition_dim")
    LAYER_FIELD_NUMBER: _ClassVar[int]
    PARTITION_DIM_FIELD_NUMBER: _ClassVar[int]
    layer: _containers.RepeatedCompositeFieldContainer[LayerProto]
    partition_dim: int
    def __init__(self, layer: _Optional[_Iterable[_Union[LayerProto, _Mapping]]] = ..., partition_dim: _Optional[int] = ...) -> None: ...

class LayerProto(_message.Message):
    __slots__ = ("name", "srclayers", "srclayer", "param", "exclude", "type", "user_type", "concate_conf", "convolution_conf", "lmdbdata_conf", "dropout_conf", "euclideanloss_conf", "innerproduct_conf", "lrn_conf", "mnist_conf", "pooling_conf", "prefetch_conf", "rbm_conf", "relu_conf", "rgbimage_conf", "sharddata_conf", "slice_conf", "softmaxloss_conf", "split_conf", "rnn_conf", "embedding_conf", "partition_dim", "num_partitions", "partition_id", "location", "unroll_len", "unroll_step", "tokens_conf")
    Extensions: _python_message._ExtensionDict
    NAME_FIELD_NUMBER: _ClassVar[int]
    SRCLAYERS_FIELD_NUMBER: _ClassVar[int]
    SRCLAYER_FIELD_NUMBER: _ClassVar[int]
    PARAM_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONCATE_CONF_FIELD_NUMBER: _ClassVar[int]
    CONVOLUTION_CONF_FIELD_NUMBER: _ClassVar[int]
    LMDBDATA_CONF_FIELD_NUMBER: _ClassVar[int]
    DROPOUT_CONF_FIELD_NUMBER: _ClassVar[int]
    EUCLIDEANLOSS_CONF_FIELD_NUMBER: _ClassVar[int]
    INNERPRODUCT_CONF_FIELD_NUMBER: _ClassVar[int]
    LRN_CONF_FIELD_NUMBER: _ClassVar[int]
    MNIST_CONF_FIELD_NUMBER: _ClassVar[int]
    POOLING_CONF_FIELD_NUMBER: _ClassVar[int]
    PREFETCH_CONF_FIELD_NUMBER: _ClassVar[int]
    RBM_CONF_FIELD_NUMBER: _ClassVar[int]
    RELU_CONF_FIELD_NUMBER: _ClassVar[int]
    RGBIMAGE_CONF_FIELD_NUMBER: _ClassVar[int]
    SHARDDATA_CONF_FIELD_NUMBER: _ClassVar[int]
    SLICE_CONF_FIELD_NUMBER: _ClassVar[int]
    SOFTMAXLOSS_CONF_FIELD_NUMBER: _ClassVar[int]
    SPLIT_CONF_FIELD_NUMBER: _ClassVar[int]
    RNN_CONF_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_CONF_FIELD_NUMBER: _ClassVar[int]
    PARTITION_DIM_FIELD_NUMBER: _ClassVar[int]
    NUM_PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    UNROLL_LEN_FIELD_NUMBER: _ClassVar[int]
    UNROLL_STEP_FIELD_NUMBER: _ClassVar[int]
    TOKENS_CONF_FIELD_NUMBER: _ClassVar[int]
    name: str
    srclayers: _containers.RepeatedScalarFieldContainer[str]
    srclayer: _containers.RepeatedScalarFieldContainer[str]
    param: _containers.RepeatedCompositeFieldContainer[ParamProto]
    exclude: _containers.RepeatedScalarFieldContainer[Phase]
    type: LayerType
    user_type: str
    concate_conf: ConcateProto
    convolution_conf: ConvolutionProto
    lmdbdata_conf: DataProto
    dropout_conf: DropoutProto
    euclideanloss_conf: EuclideanLossProto
    innerproduct_conf: InnerProductProto
    lrn_conf: LRNProto
    mnist_conf: MnistProto
    pooling_conf: PoolingProto
    prefetch_conf: PrefetchProto
    rbm_conf: RBMProto
    relu_conf: ReLUProto
    rgbimage_conf: RGBImageProto
    sharddata_conf: DataProto
    slice_conf: SliceProto
    softmaxloss_conf: SoftmaxLossProto
    split_conf: SplitProto
    rnn_conf: RNNProto
    embedding_conf: EmbeddingProto
    partition_dim: int
    num_partitions: int
    partition_id: int
    location: int
    unroll_len: int
    unroll_step: int
    tokens_conf: TokensProto
    def __init__(self, name: _Optional[str] = ..., srclayers: _Optional[_Iterable[str]] = ..., srclayer: _Optional[_Iterable[str]] = ..., param: _Optional[_Iterable[_Union[ParamProto, _Mapping]]] = ..., exclude: _Optional[_Iterable[_Union[Phase, str]]] = ..., type: _Optional[_Union[LayerType, str]] = ..., user_type: _Optional[str] = ..., concate_conf: _Optional[_Union[ConcateProto, _Mapping]] = ..., convolution_conf: _Optional[_Union[ConvolutionProto, _Mapping]] = ..., lmdbdata_conf: _Optional[_Union[DataProto, _Mapping]] = ..., dropout_conf: _Optional[_Union[DropoutProto, _Mapping]] = ..., euclideanloss_conf: _Optional[_Union[EuclideanLossProto, _Mapping]] = ..., innerproduct_conf: _Optional[_Union[InnerProductProto, _Mapping]] = ..., lrn_conf: _Optional[_Union[LRNProto, _Mapping]] = ..., mnist_conf: _Optional[_Union[MnistProto, _Mapping]] = ..., pooling_conf: _Optional[_Union[PoolingProto, _Mapping]] = ..., prefetch_conf: _Optional[_Union[PrefetchProto, _Mapping]] = ..., rbm_conf: _Optional[_Union[RBMProto, _Mapping]] = ..., relu_conf: _Optional[_Union[ReLUProto, _Mapping]] = ..., rgbimage_conf: _Optional[_Union[RGBImageProto, _Mapping]] = ..., sharddata_conf: _Optional[_Union[DataProto, _Mapping]] = ..., slice_conf: _Optional[_Union[SliceProto, _Mapping]] = ..., softmaxloss_conf: _Optional[_Union[SoftmaxLossProto, _Mapping]] = ..., split_conf: _Optional[_Union[SplitProto, _Mapping]] = ..., rnn_conf: _Optional[_Union[RNNProto, _Mapping]] = ..., embedding_conf: _Optional[_Union[EmbeddingProto, _Mapping]] = ..., partition_dim: _Optional[int] = ..., num_partitions: _Optional[int] = ..., partition_id: _Optional[int] = ..., location: _Optional[int] = ..., unroll_len: _Optional[int] = ..., unroll_step: _Optional[int] = ..., tokens_conf: _Optional[_Union[TokensProto, _Mapping]] = ...) -> None: ...

class ConvolutionProto(_message.Message):
    __slots__ = ("num_filters", "bias_term", "kernel", "pad", "stride")
    NUM_FILTERS_FIELD_NUMBER: _ClassVar[int]
    BIAS_TERM_FIELD_NUMBER: _ClassVar[int]
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    PAD_FIELD_NUMBER: _ClassVar[int]
    STRIDE_FIELD_NUMBER: _ClassVar[int]
    num_filters: int
    bias_term: bool
    kernel: int
    pad: int
    stride: int
    def __init__(self, num_filters: _Optional[int] = ..., bias_term: _Optional[bool] = ..., kernel: _Optional[int] = ..., pad: _Optional[int] = ..., stride: _Optional[int] = ...) -> None: ...

class ConcateProto(_message.Message):
    __slots__ = ("concate_dim", "num_concates")
    CONCATE_DIM_FIELD_NUMBER: _ClassVar[int]
    NUM_CONCATES_FIELD_NUMBER: _ClassVar[int]
    concate_dim: int
    num_concates: int
    def __init__(self, concate_dim: _Optional[int] = ..., num_concates: _Optional[int] = ...) -> None: ...

class DataProto(_message.Message):
    __slots__ = ("source", "path", "batchsize", "random_skip", "shape")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    BATCHSIZE_FIELD_NUMBER: _ClassVar[int]
    RANDOM_SKIP_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    source: str
    path: str
    batchsize: int
    random_skip: int
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, source: _Optional[str] = ..., path: _Optional[str] = ..., batchsize: _Optional[int] = ..., random_skip: _Optional[int] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class DropoutProto(_message.Message):
    __slots__ = ("dropout_ratio",)
    DROPOUT_RATIO_FIELD_NUMBER: _ClassVar[int]
    dropout_ratio: float
    def __init__(self, dropout_ratio: _Optional[float] = ...) -> None: ...

class EuclideanLossProto(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InnerProductProto(_message.Message):
    __slots__ = ("num_output", "bias_term", "transpose")
    NUM_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    BIAS_TERM_FIELD_NUMBER: _ClassVar[int]
    TRANSPOSE_FIELD_NUMBER: _ClassVar[int]
    num_output: int
    bias_term: bool
    transpose: bool
    def __init__(self, num_output: _Optional[int] = ..., bias_term: _Optional[bool] = ..., transpose: _Optional[bool] = ...) -> None: ...

class LRNProto(_message.Message):
    __slots__ = ("local_size", "alpha", "beta", "norm_region", "knorm")
    class NormRegion(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ACROSS_CHANNELS: _ClassVar[LRNProto.NormRegion]
        WITHIN_CHANNEL: _ClassVar[LRNProto.NormRegion]
    ACROSS_CHANNELS: LRNProto.NormRegion
    WITHIN_CHANNEL: LRNProto.NormRegion
    LOCAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    BETA_FIELD_NUMBER: _ClassVar[int]
    NORM_REGION_FIELD_NUMBER: _ClassVar[int]
    KNORM_FIELD_NUMBER: _ClassVar[int]
    local_size: int
    alpha: float
    beta: float
    norm_region: LRNProto.NormRegion
    knorm: float
    def __init__(self, local_size: _Optional[int] = ..., alpha: _Optional[float] = ..., beta: _Optional[float] = ..., norm_region: _Optional[_Union[LRNProto.NormRegion, str]] = ..., knorm: _Optional[float] = ...) -> None: ...

class MnistProto(_message.Message):
    __slots__ = ("kernel", "sigma", "alpha", "beta", "gamma", "resize", "elastic_freq", "norm_a", "norm_b")
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    SIGMA_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    BETA_FIELD_NUMBER: _ClassVar[int]
    GAMMA_FIELD_NUMBER: _ClassVar[int]
    RESIZE_FIELD_NUMBER: _ClassVar[int]
    ELASTIC_FREQ_FIELD_NUMBER: _ClassVar[int]
    NORM_A_FIELD_NUMBER: _ClassVar[int]
    NORM_B_FIELD_NUMBER: _ClassVar[int]
    kernel: int
    sigma: float
    alpha: float
    beta: float
    gamma: float
    resize: int
    elastic_freq: int
    norm_a: float
    norm_b: float
    def __init__(self, kernel: _Optional[int] = ..., sigma: _Optional[float] = ..., alpha: _Optional[float] = ..., beta: _Optional[float] = ..., gamma: _Optional[float] = ..., resize: _Optional[int] = ..., elastic_freq: _Optional[int] = ..., norm_a: _Optional[float] = ..., norm_b: _Optional[float] = ...) -> None: ...

class PoolingProto(_message.Message):
    __slots__ = ("kernel", "pool", "pad", "stride")
    class PoolMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MAX: _ClassVar[PoolingProto.PoolMethod]
        AVG: _ClassVar[PoolingProto.PoolMethod]
    MAX: PoolingProto.PoolMethod
    AVG: PoolingProto.PoolMethod
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    PAD_FIELD_NUMBER: _ClassVar[int]
    STRIDE_FIELD_NUMBER: _ClassVar[int]
    kernel: int
    pool: PoolingProto.PoolMethod
    pad: int
    stride: int
    def __init__(self, kernel: _Optional[int] = ..., pool: _Optional[_Union[PoolingProto.PoolMethod, str]] = ..., pad: _Optional[int] = ..., stride: _Optional[int] = ...) -> None: ...

class PrefetchProto(_message.Message):
    __slots__ = ("sublayers",)
    SUBLAYERS_FIELD_NUMBER: _ClassVar[int]
    sublayers: _containers.RepeatedCompositeFieldContainer[LayerProto]
    def __init__(self, sublayers: _Optional[_Iterable[_Union[LayerProto, _Mapping]]] = ...) -> None: ...

class RBMProto(_message.Message):
    __slots__ = ("hdim", "bias_term", "gaussian")
    HDIM_FIELD_NUMBER: _ClassVar[int]
    BIAS_TERM_FIELD_NUMBER: _ClassVar[int]
    GAUSSIAN_FIELD_NUMBER: _ClassVar[int]
    hdim: int
    bias_term: bool
    gaussian: bool
    def __init__(self, hdim: _Optional[int] = ..., bias_term: _Optional[bool] = ..., gaussian: _Optional[bool] = ...) -> None: ...

class ReLUProto(_message.Message):
    __slots__ = ("negative_slope",)
    NEGATIVE_SLOPE_FIELD_NUMBER: _ClassVar[int]
    negative_slope: float
    def __init__(self, negative_slope: _Optional[float] = ...) -> None: ...

class RGBImageProto(_message.Message):
    __slots__ = ("scale", "cropsize", "mirror", "meanfile")
    SCALE_FIELD_NUMBER: _ClassVar[int]
    CROPSIZE_FIELD_NUMBER: _ClassVar[int]
    MIRROR_FIELD_NUMBER: _ClassVar[int]
    MEANFILE_FIELD_NUMBER: _ClassVar[int]
    scale: float
    cropsize: int
    mirror: bool
    meanfile: str
    def __init__(self, scale: _Optional[float] = ..., cropsize: _Optional[int] = ..., mirror: _Optional[bool] = ..., meanfile: _Optional[str] = ...) -> None: ...

class SliceProto(_message.Message):
    __slots__ = ("slice_dim", "num_slices")
    SLICE_DIM_FIELD_NUMBER: _ClassVar[int]
    NUM_SLICES_FIELD_NUMBER: _ClassVar[int]
    slice_dim: int
    num_slices: int
    def __init__(self, slice_dim: _Optional[int] = ..., num_slices: _Optional[int] = ...) -> None: ...

class SoftmaxLossProto(_message.Message):
    __slots__ = ("topk", "scale", "perplexity")
    TOPK_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    PERPLEXITY_FIELD_NUMBER: _ClassVar[int]
    topk: int
    scale: float
    perplexity: bool
    def __init__(self, topk: _Optional[int] = ..., scale: _Optional[float] = ..., perplexity: _Optional[bool] = ...) -> None: ...

class SplitProto(_message.Message):
    __slots__ = ("num_splits",)
    NUM_SPLITS_FIELD_NUMBER: _ClassVar[int]
    num_splits: int
    def __init__(self, num_splits: _Optional[int] = ...) -> None: ...

class RNNProto(_message.Message):
    __slots__ = ("dim", "bias_term", "recurrent_bias")
    DIM_FIELD_NUMBER: _ClassVar[int]
    BIAS_TERM_FIELD_NUMBER: _ClassVar[int]
    RECURRENT_BIAS_FIELD_NUMBER: _ClassVar[int]
    dim: int
    bias_term: bool
    recurrent_bias: bool
    def __init__(self, dim: _Optional[int] = ..., bias_term: _Optional[bool] = ..., recurrent_bias: _Optional[bool] = ...) -> None: ...

class TokensProto(_message.Message):
    __slots__ = ("next",)
    NEXT_FIELD_NUMBER: _ClassVar[int]
    next: bool
    def __init__(self, next: _Optional[bool] = ...) -> None: ...

class EmbeddingProto(_message.Message):
    __slots__ = ("vocab_size", "word_dim")
    VOCAB_SIZE_FIELD_NUMBER: _ClassVar[int]
    WORD_DIM_FIELD_NUMBER: _ClassVar[int]
    vocab_size: int
    word_dim: int
    def __init__(self, vocab_size: _Optional[int] = ..., word_dim: _Optional[int] = ...) -> None: ...

class ParamGenProto(_message.Message):
    __slots__ = ("type", "user_type", "value", "mean", "std", "low", "high")
    Extensions: _python_message._ExtensionDict
    TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    STD_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    type: InitMethod
    user_type: str
    value: float
    mean: float
    std: float
    low: float
    high: float
    def __init__(self, type: _Optional[_Union[InitMethod, str]] = ..., user_type: _Optional[str] = ..., value: _Optional[float] = ..., mean: _Optional[float] = ..., std: _Optional[float] = ..., low: _Optional[float] = ..., high: _Optional[float] = ...) -> None: ...

class ParamProto(_message.Message):
    __slots__ = ("name", "type", "user_type", "init", "lr_scale", "wd_scale", "share_from", "id", "owner", "partition_dim", "shape")
    Extensions: _python_message._ExtensionDict
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_TYPE_FIELD_NUMBER: _ClassVar[int]
    INIT_FIELD_NUMBER: _ClassVar[int]
    LR_SCALE_FIELD_NUMBER: _ClassVar[int]
    WD_SCALE_FIELD_NUMBER: _ClassVar[int]
    SHARE_FROM_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PARTITION_DIM_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: int
    user_type: str
    init: ParamGenProto
    lr_scale: float
    wd_scale: float
    share_from: str
    id: int
    owner: int
    partition_dim: int
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., type: _Optional[int] = ..., user_type: _Optional[str] = ..., init: _Optional[_Union[ParamGenProto, _Mapping]] = ..., lr_scale: _Optional[float] = ..., wd_scale: _Optional[float] = ..., share_from: _Optional[str] = ..., id: _Optional[int] = ..., owner: _Optional[int] = ..., partition_dim: _Optional[int] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class CDProto(_message.Message):
    __slots__ = ("cd_k",)
    CD_K_FIELD_NUMBER: _ClassVar[int]
    cd_k: int
    def __init__(self, cd_k: _Optional[int] = ...) -> None: ...

class AlgProto(_message.Message):
    __slots__ = ("alg", "user_alg", "cd_conf")
    Extensions: _python_message._ExtensionDict
    ALG_FIELD_NUMBER: _ClassVar[int]
    USER_ALG_FIELD_NUMBER: _ClassVar[int]
    CD_CONF_FIELD_NUMBER: _ClassVar[int]
    alg: AlgType
    user_alg: str
    cd_conf: CDProto
    def __init__(self, alg: _Optional[_Union[AlgType, str]] = ..., user_alg: _Optional[str] = ..., cd_conf: _Optional[_Union[CDProto, _Mapping]] = ...) -> None: ...

class RMSPropProto(_message.Message):
    __slots__ = ("rho",)
    RHO_FIELD_NUMBER: _ClassVar[int]
    rho: float
    def __init__(self, rho: _Optional[float] = ...) -> None: ...

class AdamProto(_message.Message):
    __slots__ = ("beta1", "beta2")
    BETA1_FIELD_NUMBER: _ClassVar[int]
    BETA2_FIELD_NUMBER: _ClassVar[int]
    beta1: float
    beta2: float
    def __init__(self, beta1: _Optional[float] = ..., beta2: _Optional[float] = ...) -> None: ...

class UpdaterProto(_message.Message):
    __slots__ = ("type", "user_type", "rmsprop_conf", "adam_conf", "momentum", "weight_decay", "delta", "learning_rate", "clip_norm")
    Extensions: _python_message._ExtensionDict
    TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_TYPE_FIELD_NUMBER: _ClassVar[int]
    RMSPROP_CONF_FIELD_NUMBER: _ClassVar[int]
    ADAM_CONF_FIELD_NUMBER: _ClassVar[int]
    MOMENTUM_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_DECAY_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    CLIP_NORM_FIELD_NUMBER: _ClassVar[int]
    type: UpdaterType
    user_type: str
    rmsprop_conf: RMSPropProto
    adam_conf: AdamProto
    momentum: float
    weight_decay: float
    delta: float
    learning_rate: LRGenProto
    clip_norm: float
    def __init__(self, type: _Optional[_Union[UpdaterType, str]] = ..., user_type: _Optional[str] = ..., rmsprop_conf: _Optional[_Union[RMSPropProto, _Mapping]] = ..., adam_conf: _Optional[_Union[AdamProto, _Mapping]] = ..., momentum: _Optional[float] = ..., weight_decay: _Optional[float] = ..., delta: _Optional[float] = ..., learning_rate: _Optional[_Union[LRGenProto, _Mapping]] = ..., clip_norm: _Optional[float] = ...) -> None: ...

class LRGenProto(_message.Message):
    __slots__ = ("type", "user_type", "base_lr", "fixedstep_conf", "step_conf", "linear_conf", "exponential_conf", "inverse_conf", "inverset_conf")
    Extensions: _python_message._ExtensionDict
    TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_TYPE_FIELD_NUMBER: _ClassVar[int]
    BASE_LR_FIELD_NUMBER: _ClassVar[int]
    FIXEDSTEP_CONF_FIELD_NUMBER: _ClassVar[int]
    STEP_CONF_FIELD_NUMBER: _ClassVar[int]
    LINEAR_CONF_FIELD_NUMBER: _ClassVar[int]
    EXPONENTIAL_CONF_FIELD_NUMBER: _ClassVar[int]
    INVERSE_CONF_FIELD_NUMBER: _ClassVar[int]
    INVERSET_CONF_FIELD_NUMBER: _ClassVar[int]
    type: ChangeMethod
    user_type: str
    base_lr: float
    fixedstep_conf: FixedStepProto
    step_conf: StepProto
    linear_conf: LinearProto
    exponential_conf: ExponentialProto
    inverse_conf: InverseProto
    inverset_conf: InverseTProto
    def __init__(self, type: _Optional[_Union[ChangeMethod, str]] = ..., user_type: _Optional[str] = ..., base_lr: _Optional[float] = ..., fixedstep_conf: _Optional[_Union[FixedStepProto, _Mapping]] = ..., step_conf: _Optional[_Union[StepProto, _Mapping]] = ..., linear_conf: _Optional[_Union[LinearProto, _Mapping]] = ..., exponential_conf: _Optional[_Union[ExponentialProto, _Mapping]] = ..., inverse_conf: _Optional[_Union[InverseProto, _Mapping]] = ..., inverset_conf: _Optional[_Union[InverseTProto, _Mapping]] = ...) -> None: ...

class FixedStepProto(_message.Message):
    __slots__ = ("step", "step_lr")
    STEP_FIELD_NUMBER: _ClassVar[int]
    STEP_LR_FIELD_NUMBER: _ClassVar[int]
    step: _containers.RepeatedScalarFieldContainer[int]
    step_lr: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, step: _Optional[_Iterable[int]] = ..., step_lr: _Optional[_Iterable[float]] = ...) -> None: ...

class StepProto(_message.Message):
    __slots__ = ("gamma", "change_freq")
    GAMMA_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FREQ_FIELD_NUMBER: _ClassVar[int]
    gamma: float
    change_freq: int
    def __init__(self, gamma: _Optional[float] = ..., change_freq: _Optional[int] = ...) -> None: ...

class LinearProto(_message.Message):
    __slots__ = ("change_freq", "final_lr")
    CHANGE_FREQ_FIELD_NUMBER: _ClassVar[int]
    FINAL_LR_FIELD_NUMBER: _ClassVar[int]
    change_freq: int
    final_lr: float
    def __init__(self, change_freq: _Optional[int] = ..., final_lr: _Optional[float] = ...) -> None: ...

class ExponentialProto(_message.Message):
    __slots__ = ("change_freq",)
    CHANGE_FREQ_FIELD_NUMBER: _ClassVar[int]
    change_freq: int
    def __init__(self, change_freq: _Optional[int] = ...) -> None: ...

class InverseTProto(_message.Message):
    __slots__ = ("final_lr",)
    FINAL_LR_FIELD_NUMBER: _ClassVar[int]
    final_lr: float
    def __init__(self, final_lr: _Optional[float] = ...) -> None: ...

class InverseProto(_message.Message):
    __slots__ = ("gamma", "pow")
    GAMMA_FIELD_NUMBER: _ClassVar[int]
    POW_FIELD_NUMBER: _ClassVar[int]
    gamma: float
    pow: float
    def __init__(self, gamma: _Optional[float] = ..., pow: _Optional[float] = ...) -> None: ...
