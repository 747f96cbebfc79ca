"""A minimal SVG writer: elements appended as strings, numbers rounded, text escaped."""
from __future__ import annotations

from .style import FONT, FONT_SIZE, TEXT_COLOUR

Point = tuple[float, float]

CORNER = 5  # radius of an edge's right-angle turns


def escape(text: str) -> str:
    """Text made safe inside an element or a double-quoted attribute."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


_NAMES: dict[str, str] = {}  # keyword -> attribute name ('font_size' -> 'font-size', 'class_' -> 'class')


def attrs(**kw: object) -> str:
    """' key="value"' pairs; underscores become dashes, None values are left out."""
    parts = []
    for key, value in kw.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = f"{value:.1f}".rstrip("0").rstrip(".")
        name = _NAMES.get(key) or _NAMES.setdefault(key, key.rstrip("_").replace("_", "-"))
        parts.append(f' {name}="{escape(str(value))}"')
    return "".join(parts)


class Canvas:
    """An SVG document being written."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, text: str) -> None:
        self.parts.append(text)

    def rect(self, x: float, y: float, w: float | str, h: float | str, **kw: object) -> None:
        """A rectangle; width and height may be lengths such as "100%"."""
        self.add(f"<rect{attrs(x=x, y=y, width=w, height=h, **kw)}/>")

    def polygon(self, points: list[Point], **kw: object) -> None:
        self.add(f"<polygon{attrs(points=' '.join(f'{x:.1f},{y:.1f}' for x, y in points), **kw)}/>")

    def path(self, d: str, **kw: object) -> None:
        self.add(f"<path{attrs(d=d, **kw)}/>")

    def text(self, x: float, y: float, text: str, size: float = FONT_SIZE, **kw: object) -> None:
        kw.setdefault("fill", TEXT_COLOUR)
        self.add(f"<text{attrs(x=x, y=y, font_size=size, **kw)}>{escape(text)}</text>")

    def open(self, tag: str, **kw: object) -> None:
        self.add(f"<{tag}{attrs(**kw)}>")

    def close(self, tag: str) -> None:
        self.add(f"</{tag}>")

    def title(self, text: str) -> None:
        self.add(f"<title>{escape(text)}</title>")

    def document(self, width: float, height: float) -> str:
        """The whole SVG, sized to `width` x `height`."""
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg"{attrs(width=width, height=height)}'
            f'{attrs(viewBox=f"0 0 {width:.0f} {height:.0f}", font_family=FONT)}>'
        )
        return "\n".join([head, *self.parts, "</svg>"]) + "\n"


def curve_path(points: list[Point]) -> str:
    """Path data through `points`: S-bends for slanted steps, straight lines with rounded corners otherwise."""
    x, y = points[0]
    d = [f"M{x:.1f},{y:.1f}"]
    for i, (x1, y1) in enumerate(points[1:], start=1):
        if x1 != x and y1 != y:
            ym = (y + y1) / 2
            d.append(f"C{x:.1f},{ym:.1f} {x1:.1f},{ym:.1f} {x1:.1f},{y1:.1f}")
            x, y = x1, y1
            continue
        after = points[i + 1] if i + 1 < len(points) else None
        if after is None or (after[0] != x1 and after[1] != y1) or (after[0] - x1) * (x1 - x) + (after[1] - y1) * (
                y1 - y) != 0:
            d.append(f"L{x1:.1f},{y1:.1f}")
            x, y = x1, y1
            continue
        x, y = round_corner(d, (x, y), (x1, y1), after)
    return " ".join(d)


def round_corner(d: list[str], a: Point, corner: Point, b: Point) -> Point:
    """Draw from `a` towards a right-angle `corner`, turning towards `b` on a small arc; returns the arc's end."""
    len_in = abs(corner[0] - a[0]) + abs(corner[1] - a[1])
    len_out = abs(b[0] - corner[0]) + abs(b[1] - corner[1])
    r = min(CORNER, len_in / 2, len_out / 2)
    if r <= 0:
        d.append(f"L{corner[0]:.1f},{corner[1]:.1f}")
        return corner
    ux, uy = (corner[0] - a[0]) / len_in, (corner[1] - a[1]) / len_in
    vx, vy = (b[0] - corner[0]) / len_out, (b[1] - corner[1]) / len_out
    start, end = (corner[0] - r * ux, corner[1] - r * uy), (corner[0] + r * vx, corner[1] + r * vy)
    d.append(f"L{start[0]:.1f},{start[1]:.1f} Q{corner[0]:.1f},{corner[1]:.1f} {end[0]:.1f},{end[1]:.1f}")
    return end
