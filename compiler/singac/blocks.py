"""Blocks of a tensor: which rows (axis 0) and feature columns (axis 1) a node owns or needs.

A block is a dict {axis: (begin, end)}; an axis that is absent means the whole axis.
"""
from __future__ import annotations

Block = dict[int, tuple[int, int]]


def ranges(size: int, parts: int) -> list[tuple[int, int]]:
    """Cut `size` into `parts` contiguous ranges, the first ones one larger when it does not divide."""
    base, extra = divmod(size, parts)
    out, begin = [], 0
    for i in range(parts):
        end = begin + base + (1 if i < extra else 0)
        out.append((begin, end))
        begin = end
    return out


def intersect(a: Block, b: Block, shape: tuple[int, ...]) -> Block | None:
    """The block both `a` and `b` cover (None when empty), restricted to the tensor's axes."""
    out: Block = {}
    for axis in sorted(set(a) | set(b)):
        if axis >= len(shape):
            continue
        lo_a, hi_a = a.get(axis, (0, shape[axis]))
        lo_b, hi_b = b.get(axis, (0, shape[axis]))
        lo, hi = max(lo_a, lo_b), min(hi_a, hi_b)
        if lo >= hi:
            return None
        if (lo, hi) != (0, shape[axis]):
            out[axis] = (lo, hi)
    return out


def normal(block: Block, shape: tuple[int, ...]) -> Block:
    """The block with whole-axis entries and axes beyond the tensor dropped (a canonical form)."""
    return {a: r for a, r in sorted(block.items()) if a < len(shape) and r != (0, shape[a])}


def block_shape(block: Block, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of `block` cut out of a tensor of `shape`."""
    return tuple(block[a][1] - block[a][0] if a in block else n for a, n in enumerate(shape))


def describe(block: Block, shape: tuple[int, ...]) -> str:
    """Numpy-like text for a block: `[0:32,:]`."""
    axes = [f"{block[a][0]}:{block[a][1]}" if a in block else ":" for a in range(min(len(shape), 2))]
    return "[" + ",".join(axes) + "]"
