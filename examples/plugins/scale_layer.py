"""A layer plugin: `Scale` multiplies each input feature by a learned scale (and a fixed factor).

y[n, j] = factor * s[j] * x[n, j], with `s` a param of one value per input feature and `factor` from
the layer's `[scale.scale_conf]` extension. Load it with `--plugin examples/plugins/scale_layer.py`.
"""
from __future__ import annotations

import math

import scale_pb2  # the plugin's own extension of LayerProto: imported, it makes the job's syntax parse
from singa_spec import register_spec, shapes
from singa_spec.layers import BATCH, FEATURES, ONE_TO_ONE, LayerSpec
from singart.layers import NumpyLayer, implements


def scale_params(conf, in_shape):
    """One scale per input feature."""
    return [("scale", (math.prod(in_shape[1:]),))]


# Output j depends on input j alone: a feature partition needs only its own columns (one-to-one), and
# takes the block of `scale` that matches them.
register_spec(LayerSpec("Scale", shapes.same, scale_params, dims=frozenset({BATCH, FEATURES}),
                        connection=ONE_TO_ONE))


@implements("Scale")
class Scale(NumpyLayer):
    """y = factor * scale * x, per feature."""

    def forward(self, inputs):
        self.x = inputs[0].reshape(len(inputs[0]), -1)
        self.factor = self.conf.Extensions[scale_pb2.scale_conf].factor
        return (self.factor * self.params["scale"] * self.x).reshape(inputs[0].shape)

    def backward(self, grad_out):
        dy = grad_out.reshape(self.x.shape)
        self.grads["scale"][...] = self.factor * (dy * self.x).sum(axis=0)
        return (self.factor * self.params["scale"] * dy).reshape(grad_out.shape)
