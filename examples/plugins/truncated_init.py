"""An init method plugin: `TruncatedGaussian` draws from N(mean, std²) and draws again every value beyond
mean ± bound·std, `bound` coming from the param's own `[truncated.truncated_conf]` extension (the
seed's FooParamGen). Load it with `--plugin examples/plugins/truncated_init.py`.
"""
from __future__ import annotations

import numpy as np
import truncated_pb2  # the plugin's extension of ParamGenProto: imported, it makes the job's syntax parse
from singart.params.init import register_init


def truncated_gaussian(gen, shape, rng):
    """The whole param's float32 values, drawn from `rng`, the param's own stream."""
    bound = gen.Extensions[truncated_pb2.truncated_conf].bound
    if not bound > 0:  # nothing lies within a bound of 0: the redraws would never end
        raise ValueError(f"truncated_conf.bound must be positive, got {bound}")
    values = rng.normal(0.0, 1.0, shape)
    outside = np.abs(values) > bound
    while outside.any():  # redraw only the values beyond the bound
        values[outside] = rng.normal(0.0, 1.0, int(outside.sum()))
        outside = np.abs(values) > bound
    return (gen.mean + gen.std * values).astype(np.float32)


register_init("TruncatedGaussian", truncated_gaussian)
