"""One declarative spec per layer kind: what the compiler and the runtime both need to know of it.

A spec says how the kind's output shape follows from its conf and inputs, which params it has and their
shapes, along which dims it may be partitioned, whether a feature partition needs all of its input's
features (one-to-all: inner product, convolution) or only its own (one-to-one: element-wise layers), and
whether gradients pass through it. The compiler plans with specs; the runtime registers one
implementation under each spec's name. Adding a kind is one spec here (or a plugin's `register_spec`)
and one runtime implementation.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from singa_proto import job_pb2

from . import params as param_rules
from . import shapes
from .errors import SingaError
from .kinds import HOW_TO_PLUG, same_definition

Shape = tuple[int, ...]
ShapeRule = Callable[[Any, list[Shape]], Shape]
ParamRule = Callable[[Any, Shape], list[tuple[str, Shape]]]
AxisRule = Callable[[Any, str], int]

BATCH, FEATURES = 0, 1  # the partition dims: rows of the batch, columns of the features
ONE_TO_ONE, ONE_TO_ALL = "one-to-one", "one-to-all"


@dataclass(frozen=True)
class LayerSpec:
    """What a layer kind is, independent of how it runs."""

    name: str  # the type as users write it: "kInnerProduct"
    shape: ShapeRule
    params: ParamRule = param_rules.none
    dims: frozenset[int] = frozenset({BATCH})  # partition dims allowed besides -1 (whole, on one worker)
    connection: str = ONE_TO_ALL  # what a feature partition needs of its input: its own columns or all
    grad: bool = True  # gradients pass back through it (input and parser layers: no)
    loss: bool = False  # a loss layer: where backward starts
    feature_axis: AxisRule = param_rules.rows  # the param axis that follows the output features
    feature_field: str = "feature size"  # the conf field feature partitions divide, for messages
    pair: str = ""  # RBM "visible" / "hidden": such a pair may name each other (the one legal cycle)
    param_fields: str = ""  # the conf fields that decide which params it has (for messages)

    @property
    def features(self) -> bool:
        """Whether the kind may be partitioned on its features (partition_dim 1)."""
        return FEATURES in self.dims


def _elementwise(name: str, shape: ShapeRule = shapes.same) -> LayerSpec:
    """Output feature j depends only on input feature j: a feature partition needs only its columns."""
    return LayerSpec(name, shape, dims=frozenset({BATCH, FEATURES}), connection=ONE_TO_ONE)


def _product(name: str, shape: ShapeRule, rule: ParamRule, field: str,
             axis: AxisRule = param_rules.rows) -> LayerSpec:
    """Output features are cut by cutting the params' rows; each partition needs all input features."""
    return LayerSpec(name, shape, rule, dims=frozenset({BATCH, FEATURES}), feature_axis=axis,
                     feature_field=field)


RNN_BIASES = "rnn_conf { bias_term, recurrent_bias } decide its biases"

# The kinds of SINGA v0.1 (reference section 1.3) and the recurrent ones. Kinds without FEATURES in
# their dims run whole when the net's default partition_dim is 1; input and parser kinds take no
# gradient, so one of them may feed several consumers without a split.
BUILT_IN: tuple[LayerSpec, ...] = (
    LayerSpec("kShardData", shapes.data, grad=False),
    LayerSpec("kLMDBData", shapes.data, grad=False),
    LayerSpec("kPrefetch", shapes.prefetch, grad=False),
    LayerSpec("kLabel", shapes.label, grad=False),
    LayerSpec("kMnist", shapes.mnist, grad=False),
    LayerSpec("kRGBImage", shapes.rgb_image, grad=False),
    _product("kConvolution", shapes.convolution, param_rules.convolution, "num_filters"),
    _product("kCConvolution", shapes.convolution, param_rules.convolution, "num_filters"),
    _product("kInnerProduct", shapes.inner_product, param_rules.inner_product, "num_output",
             param_rules.inner_product_axes),
    _elementwise("kPooling", shapes.pooling),
    _elementwise("kCPooling", shapes.pooling),
    _elementwise("kReLU"),
    _elementwise("kSTanh"),
    _elementwise("kSigmoid"),
    _elementwise("kTanh"),
    _elementwise("kDropout"),
    LayerSpec("kLRN", shapes.lrn),
    LayerSpec("kSoftmaxLoss", shapes.softmax_loss, loss=True),
    LayerSpec("kEuclideanLoss", shapes.euclidean_loss, loss=True),
    LayerSpec("kRBMVis", shapes.rbm_vis, params=param_rules.rbm_vis, pair="visible"),
    LayerSpec("kRBMHid", shapes.rbm_hid, params=param_rules.rbm_hid, pair="hidden"),
    LayerSpec("kEmbedding", shapes.embedding, params=param_rules.embedding),
    LayerSpec("kRNN", shapes.recurrent, params=param_rules.gated(1), param_fields=RNN_BIASES),
    LayerSpec("kGRU", shapes.recurrent, params=param_rules.gated(3), param_fields=RNN_BIASES),
    LayerSpec("kLSTM", shapes.recurrent, params=param_rules.gated(4), param_fields=RNN_BIASES),
    LayerSpec("kStack", shapes.stack, dims=frozenset()),  # gathers rows of all batch items: runs whole
    LayerSpec("kTokens", shapes.tokens, dims=frozenset(), grad=False),  # next-token labels: such rows too
    LayerSpec("kConcate", shapes.concate),
    LayerSpec("kSplit", shapes.same),
)

SPECS: dict[str, LayerSpec] = {}


def register_spec(spec: LayerSpec) -> LayerSpec:
    """Make a layer kind known under `spec.name` (built-in kinds and plugins alike); returns it."""
    if spec.name in SPECS and not same_definition(SPECS[spec.name], spec):
        raise SingaError(f"layer kind {spec.name} is registered twice")
    SPECS[spec.name] = spec
    return spec


for _spec in BUILT_IN:
    register_spec(_spec)


def layer_type(conf: job_pb2.LayerProto) -> str:
    """A layer's kind as users write it: `kInnerProduct`, or a user layer's `user_type`."""
    if conf.type == job_pb2.kUserLayer:
        return conf.user_type
    return job_pb2.LayerType.Name(conf.type)


def spec_of(kind: str) -> LayerSpec:
    """The spec of a layer kind; an unknown kind is a SingaError listing the known ones."""
    spec = SPECS.get(kind)
    if spec is None:
        raise SingaError(f"no layer kind {kind or '(none)'} is registered; known: {', '.join(sorted(SPECS))} "
                         f"({HOW_TO_PLUG})")
    return spec
