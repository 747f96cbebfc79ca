"""How things look: worker colours, one shape per node kind, text metrics of the monospace font."""
from __future__ import annotations

# Fill and stroke per worker: 16 colours chosen far apart in CIELAB (fills too), and far from the crossing
# red and the collapsed grey; workers beyond sixteen reuse them in order.
WORKER_COLOURS = [
    ("#aacbe2", "#1f77b4"), ("#efa2ef", "#d50bd5"), ("#efc9a2", "#d5700b"), ("#a1d2a1", "#078807"),
    ("#d2a1b1", "#880732"), ("#a2a9ef", "#0b1cd5"), ("#a1d2c6", "#078868"), ("#b0a8cb", "#301976"),
    ("#c5cba8", "#667619"), ("#cbb3a8", "#763819"), ("#efa2cf", "#d50b81"), ("#d2ade4", "#8927b9"),
    ("#a2bcef", "#0b4fd5"), ("#cfa2ef", "#810bd5"), ("#d2a1c6", "#880768"), ("#a8cbad", "#197628"),
]
MANY_WORKERS = ("#f2f2f2", "#444444")  # a collapsed node that spans several workers
CROSS_COLOUR = "#d62728"  # edges that leave their worker
BACK_COLOUR = "#9467bd"  # edges against execution order (RBM hidden -> visible)
EDGE_COLOUR = "#6b6b6b"
TEXT_COLOUR = "#1a1a1a"

# Per node kind: the shape drawn, the Graphviz shape of the .dot output, and what the legend says.
KIND_STYLES = {
    "compute": {"shape": "rect", "dot": "box", "say": "layer (partition)"},
    "slice": {"shape": "widen", "dot": "trapezium", "say": "slice: cuts a block"},
    "concat": {"shape": "narrow", "dot": "invtrapezium", "say": "concat: joins blocks"},
    "split": {"shape": "hexagon", "dot": "hexagon", "say": "split: one tensor, many readers"},
    "bridge_src": {"shape": "send", "dot": "invhouse", "say": "bridge_src: sends to another worker"},
    "bridge_dst": {"shape": "receive", "dot": "house", "say": "bridge_dst: receives from another worker"},
}

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
FONT_SIZE = 11
CHAR_W = 6.65  # advance of one character of FONT at FONT_SIZE (0.6 em, rounded up)
LINE_H = 13


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Width of `text` in the monospace font at `size` px."""
    return len(text) * CHAR_W * size / FONT_SIZE


def worker_colours(workers: tuple[int, ...]) -> tuple[str, str]:
    """(fill, stroke) of a node held by `workers`."""
    if len(workers) != 1:
        return MANY_WORKERS
    return WORKER_COLOURS[workers[0] % len(WORKER_COLOURS)]


def shape_text(shape: tuple[int, ...]) -> str:
    """'64x3x32x32' (or '?' for an unknown shape)."""
    return "x".join(map(str, shape)) if shape else "?"


def bytes_text(nbytes: int) -> str:
    """'1.5 MB', '12 KB', '512 B' (decimal units)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{nbytes} B"
