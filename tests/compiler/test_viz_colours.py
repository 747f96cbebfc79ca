"""Worker colours: sixteen that a reader tells apart, none mistaken for a crossing edge or a collapsed node."""
from __future__ import annotations

import itertools
import math

from singac.viz.style import CROSS_COLOUR, MANY_WORKERS, WORKER_COLOURS

# Least CIELAB distance (CIE76 delta E) between two colours a reader must tell apart. About 2.3 is the
# least noticeable difference; these bounds ask for clearly different hues at a glance.
STROKES_APART = 20
FILLS_APART = 10  # the light fills sit closer together in lightness
FROM_RED = 30
FROM_GREY = 30


def lab(colour: str) -> tuple[float, float, float]:
    """An sRGB '#rrggbb' in CIELAB (D65)."""
    rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(a: str, b: str) -> float:
    return math.dist(lab(a), lab(b))


def test_lab_of_known_colours():
    assert math.dist(lab("#ffffff"), (100, 0, 0)) < 0.1
    assert math.dist(lab("#ff0000"), (53.24, 80.09, 67.20)) < 0.5


def test_sixteen_worker_colours_are_unique_and_far_apart():
    assert len(WORKER_COLOURS) >= 16
    fills, strokes = zip(*WORKER_COLOURS[:16])
    for a, b in itertools.combinations(strokes, 2):
        assert delta_e(a, b) > STROKES_APART, (a, b)
    for a, b in itertools.combinations(fills, 2):
        assert delta_e(a, b) > FILLS_APART, (a, b)


def test_no_worker_colour_is_near_the_crossing_red_or_the_collapsed_grey():
    many_fill, many_stroke = MANY_WORKERS
    for fill, stroke in WORKER_COLOURS[:16]:
        assert delta_e(stroke, CROSS_COLOUR) > FROM_RED, stroke
        assert delta_e(fill, CROSS_COLOUR) > FROM_RED, fill
        assert delta_e(stroke, many_stroke) > FROM_GREY, stroke
        assert delta_e(fill, many_fill) > FILLS_APART, fill
