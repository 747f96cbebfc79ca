"""Memory layouts of 4-D activations: NCHW (C-contiguous), or channels-last: NHWC in memory while the
array's shape stays (N, C, H, W), a transposed view of an (N, H, W, C) buffer.

Convolutions write channels-last (oneDNN's fast convolutions work in it, or in blocked layouts it
reorders from it as cheaply as from NCHW) and pooling and the element-wise layers keep the layout they
are given, so a conv -> pool -> conv chain runs with no reorder between its layers. Layers that need
NCHW get it by one copy at the boundary (an inner product's flattening reshape does it anyway)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def is_channels_last(a: np.ndarray) -> bool:
    """Whether a 4-D array lies in memory as NHWC (and not also as NCHW, as when C is 1)."""
    return a.ndim == 4 and not a.flags.c_contiguous and a.transpose(0, 2, 3, 1).flags.c_contiguous


def in_layout(a: np.ndarray, channels_last: bool) -> bool:
    """Whether `a` lies in memory as the layout says (with C = 1, or H = W = 1, both layouts are one)."""
    if channels_last:
        return a.ndim == 4 and a.transpose(0, 2, 3, 1).flags.c_contiguous
    return a.flags.c_contiguous


def is_dense(a: np.ndarray) -> bool:
    """Whether the kernels take the array as it is: C-contiguous, or channels-last."""
    return a.flags.c_contiguous or is_channels_last(a)


def empty(shape: tuple[int, ...], channels_last: bool, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """An uninitialised array of `shape` in the given layout."""
    if not channels_last:
        return np.empty(shape, dtype)
    n, c, h, w = shape
    return np.empty((n, h, w, c), dtype).transpose(0, 3, 1, 2)


def as_layout(a: np.ndarray, channels_last: bool, buffer: Callable[[], np.ndarray]) -> np.ndarray:
    """`a` itself when it is in the layout already, else a copied into `buffer()` (of that layout; asked
    for only then, so a layer keeps no copy buffer it never needs)."""
    if in_layout(a, channels_last):
        return a
    out = buffer()
    np.copyto(out, a)
    return out
