"""Per-layer-type facts the passes need: category, connection, and how features may be partitioned."""
from __future__ import annotations

# Input layers read records; parser layers turn records into tensors. Neither takes a gradient, so a
# node feeding several consumers needs no split (SINGA's kOneToMany).
INPUT_TYPES = frozenset({"kShardData", "kLMDBData", "kPrefetch"})
PARSER_TYPES = frozenset({"kLabel", "kMnist", "kRGBImage"})
LOSS_TYPES = frozenset({"kSoftmaxLoss", "kEuclideanLoss"})

# Output feature j depends only on input feature j: a feature partition needs only its own columns.
ONE_TO_ONE = frozenset({"kReLU", "kSTanh", "kSigmoid", "kTanh", "kDropout", "kPooling", "kCPooling"})

# Output features are cut by cutting the params (rows of the weight); each partition needs all input
# features (SINGA's kOneToAll).
FEATURE_SPLIT = frozenset({"kInnerProduct", "kConvolution", "kCConvolution"})

# Layers whose output features cannot be cut: they run whole when the net's default is 1.
WHOLE_FEATURES = frozenset({
    *INPUT_TYPES, *PARSER_TYPES, *LOSS_TYPES, "kLRN", "kRBMVis", "kRBMHid",
    "kEmbedding", "kRNN", "kGRU", "kLSTM", "kConcate", "kSplit", "kUserLayer",
})

# Connection layers are inserted by the compiler; users may still declare a split or a concat.
USER_CONNECTION = frozenset({"kConcate", "kSplit"})
COMPILER_ONLY = frozenset({"kSlice", "kBridgeSrc", "kBridgeDst"})

# An RBM's visible and hidden layers name each other: the one declared cycle that is legal.
RBM_PAIR = frozenset({"kRBMVis", "kRBMHid"})

KNOWN_TYPES = ONE_TO_ONE | FEATURE_SPLIT | WHOLE_FEATURES | COMPILER_ONLY


def takes_grad(type_name: str) -> bool:
    """Whether a layer's output carries a gradient back (input and parser layers do not)."""
    return type_name not in INPUT_TYPES and type_name not in PARSER_TYPES


def needs_own_columns(type_name: str) -> bool:
    """Whether a feature partition of this layer needs only its own input columns."""
    return type_name in ONE_TO_ONE

# The conf field a feature partition divides, for error messages.
FEATURE_FIELD = {"kInnerProduct": "num_output", "kConvolution": "num_filters", "kCConvolution": "num_filters"}
