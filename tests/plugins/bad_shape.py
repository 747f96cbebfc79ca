"""A plugin whose layer kind's shape rule returns no shape (the compiler must name the layer)."""
from singa_spec import LayerSpec, register_spec

register_spec(LayerSpec("BadShape", lambda conf, ins: None))
