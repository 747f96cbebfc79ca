"""Input layers: kShardData reads record batches; kLabel, kMnist, and kRGBImage
parse them.

A data layer's output is a RecordBatch that only parser layers consume. Under batch partitioning a
node holds rows `ctx.rows` of the batch one unpartitioned reader would produce, and every random
choice is drawn for the full batch and then cut to those rows, so partitioning changes nothing.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..data.records import RecordBatch, ShardArrays, load_shard, read_mean_image
from ..data.shard import ShardError
from ..params.seeds import make_rng
from .base import Layer, LayerContext
from .registry import implements


class InputLayer(Layer):
    """Input layers take no gradient (their specs say so: their backward never runs)."""

    def backward(self, dy: np.ndarray | None, grads: list[np.ndarray]) -> list[np.ndarray | None]:
        return []


@implements("kShardData")
class ShardDataLayer(InputLayer):
    """kShardData: `batchsize` records per call from a DataShard, wrapping at its end."""

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        conf, self.name = ctx.conf.sharddata_conf, ctx.name
        if conf.batchsize <= 0:
            raise ValueError(f"layer {self.name!r}: sharddata_conf.batchsize must be positive")
        self.batchsize = int(conf.batchsize)
        self.begin, self.end = ctx.rows(self.batchsize)
        self.shard = _open_shard(self.name, conf.path)
        _check_record_shape(ctx, self.name, self.shard)
        self.position: int | None = None  # the full batch's first record; set on the first call
        self.random_skip = int(conf.random_skip)

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> RecordBatch:
        if self.position is None:
            # SINGA skips rand() % random_skip records once, so readers of one shard de-correlate;
            # every partition of this layer draws the same skip, so together they read one stream
            skip = int(make_rng(self.ctx.seed, self.name).integers(1 << 62))
            self.position = skip % self.random_skip if self.random_skip > 0 else 0
            if self.ctx.train:  # a run resumed at `step` reads on from where the first run was then
                self.position = (self.position + step * self.batchsize) % len(self.shard)
        batch = self.shard.take(self.position + self.begin, self.end - self.begin)
        self.position = (self.position + self.batchsize) % len(self.shard)
        return batch


def _open_shard(layer: str, path: str) -> ShardArrays:
    if not path:
        raise ValueError(f"layer {layer!r}: sharddata_conf.path is not set")
    try:
        return load_shard(path)
    except ShardError as err:
        # a relative path is read from wherever singart runs, which is easy to forget: say where that is
        where = "" if os.path.isabs(path) or os.path.exists(path) else \
            f" ({path} is relative to the current directory {os.getcwd()})"
        raise ShardError(f"layer {layer!r}: {err}{where}") from None


def _check_record_shape(ctx: LayerContext, layer: str, shard: ShardArrays) -> None:
    planned = list(ctx.node.origin_shape or ctx.node.shape)[1:]
    if planned and tuple(planned) != shard.record_shape:
        raise ShardError(f"layer {layer!r}: {shard.path} holds records of shape "
                         f"{list(shard.record_shape)}, the plan says {planned}")


@implements("kLMDBData")
class LMDBDataLayer(InputLayer):
    """kLMDBData: not available here; say so when the layer is built."""

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        raise ValueError(f"layer {ctx.name!r}: kLMDBData is not supported in this build; "
                         "convert the data to a record shard (singart data) and use kShardData")


@implements("kLabel")
class LabelLayer(InputLayer):
    """kLabel: the records' labels as int32 [B]."""

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        return np.ascontiguousarray(_batch(inputs, self.ctx).labels, dtype=np.int32)


@implements("kMnist")
class MnistLayer(InputLayer):
    """kMnist: pixels as float32 x / norm_a - norm_b; 2-D records become [B, 1, s, s]."""

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        images = _batch(inputs, self.ctx).images
        conf = self.ctx.conf.mnist_conf
        out = images.astype(np.float32)
        out /= np.float32(conf.norm_a)
        out -= np.float32(conf.norm_b)
        return out[:, None] if out.ndim == 3 else out


@implements("kRGBImage")
class RGBImageLayer(InputLayer):
    """kRGBImage: subtract the mean image, crop (random when training) and mirror, then scale."""

    def __init__(self, ctx: LayerContext) -> None:
        super().__init__(ctx)
        self.name, conf = ctx.name, ctx.conf.rgbimage_conf
        self.crop, self.mirror, self.scale = int(conf.cropsize), bool(conf.mirror), conf.scale
        self.mean = self._load_mean(conf.meanfile) if conf.meanfile else None

    def _load_mean(self, path: str) -> np.ndarray:
        try:
            return read_mean_image(path)
        except ShardError as err:
            raise ShardError(f"layer {self.name!r}: {err}") from None

    def forward(self, inputs: list[Any], params: list[np.ndarray], step: int) -> np.ndarray:
        images = _batch(inputs, self.ctx).images
        if images.ndim != 4:
            raise ValueError(f"layer {self.name!r}: kRGBImage needs [C, H, W] records, "
                             f"got {list(images.shape[1:])}")
        x = images.astype(np.float32)
        if self.mean is not None:
            if self.mean.size != x[0].size:
                raise ShardError(f"layer {self.name!r}: mean image {self.ctx.conf.rgbimage_conf.meanfile}"
                                 f" has {self.mean.size} values, records have {x[0].size}")
            x -= self.mean.reshape(x.shape[1:])
        if self.crop or (self.mirror and self.ctx.train):
            x = self._crop(x, step)
        x *= np.float32(self.scale)
        return np.ascontiguousarray(x)

    def _crop(self, x: np.ndarray, step: int) -> np.ndarray:
        n, c, h, w = x.shape
        kh, kw = (self.crop, self.crop) if self.crop else (h, w)  # no cropsize: mirror only
        if kh > h or kw > w:
            raise ValueError(f"layer {self.name!r}: cropsize {self.crop} exceeds the image size "
                             f"{h}x{w}")
        hoff, woff, flip = self._draw(step, n, h - kh, w - kw)
        hidx = (hoff[:, None] + np.arange(kh))[:, None, :, None]
        ar = np.arange(kw)
        widx = woff[:, None] + np.where(flip[:, None], ar[::-1], ar)
        return x[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], hidx,
                 widx[:, None, None, :]]

    def _draw(self, step: int, n: int, hspan: int, wspan: int) -> tuple[np.ndarray, ...]:
        """Crop offsets and mirror flags for this node's n rows, drawn for the whole batch."""
        begin, end = self.ctx.rows(n)
        if end - begin != n:
            raise ValueError(f"layer {self.name!r}: got {n} rows, the plan gives it {end - begin}")
        if not self.ctx.train:  # centre crop, no mirror outside training
            z = np.zeros(n, np.int64)
            return z + hspan // 2, z + wspan // 2, np.zeros(n, bool)
        full = self.ctx.full_batch if (self.ctx.node.origin_shape or self.ctx.node.shape) else n
        rng = make_rng(self.ctx.seed, self.name, step)
        hoff = rng.integers(0, hspan + 1, full)
        woff = rng.integers(0, wspan + 1, full)
        flip = rng.random(full) < 0.5 if self.mirror else np.zeros(full, bool)
        return hoff[begin:end], woff[begin:end], flip[begin:end]


def _batch(inputs: list[Any], ctx: LayerContext) -> RecordBatch:
    if len(inputs) != 1 or not isinstance(inputs[0], RecordBatch):
        raise ValueError(f"layer {ctx.name!r}: a parser layer needs exactly one data layer as "
                         "its source")
    return inputs[0]

