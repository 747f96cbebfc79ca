"""Coordinates for a grid: x of every slot (pulled under its neighbours, never overlapping), y of every row,
and the path of every edge through its slots."""
from __future__ import annotations

from dataclasses import dataclass

from .grid import LARGE, NODE_H, Grid, Item, Route
from .style import KIND_STYLES, LINE_H

Point = tuple[float, float]

SEP = 10  # least space between two slots of a row
COL_GAP = 36  # space between worker columns
GAP = 18  # vertical space between rows, where edges bend
REFINE = 6  # fewer (2) for grids of LARGE slots or more, so they still draw in seconds
FAR = 36  # a sideways move longer than this takes a horizontal track instead of an S-bend
TRACK_SEP = 5  # between tracks of one gap
TRACK_MARGIN = 9  # between a gap's first or last track and the rows around it  # down-and-up passes pulling slots under their neighbours
SLANT = 10  # how far a shape's slanted side reaches in

# Per drawn shape: how far in from the left/right the edge ports of its top and bottom side may go
# (None: all edges meet at the centre, the shape's tip).
PORT_INSETS = {
    "rect": (8, 8), "widen": (SLANT + 6, 8), "narrow": (8, SLANT + 6),
    "hexagon": (SLANT + 2, SLANT + 2), "send": (8, None), "receive": (None, 8),
}


@dataclass
class Layout:
    """Where everything goes: row tops and heights, column spans, and the points of each edge."""

    grid: Grid
    row_top: list[float]
    row_h: list[float]
    col_span: list[tuple[float, float]]
    paths: list[list[Point]]  # per route, from its upper node down to its lower node
    width: float
    height: float


def layout_grid(grid: Grid, top: float = 0.0) -> Layout:
    """Coordinates for every item and edge of `grid`, starting `top` pixels down."""
    cells = [cells_of(row, len(grid.columns)) for row in grid.rows]
    spans = column_spans(cells, len(grid.columns))
    for row_cells in cells:
        pack(row_cells, spans)
    for _ in range(REFINE if sum(map(len, grid.rows)) < LARGE else 2):
        for rows, near in ((cells, "up"), (cells[::-1], "down")):
            for row_cells in rows:
                pull(row_cells, spans, near)
    heights = [row_height(row, i) for i, row in enumerate(grid.rows)]
    xs = route_xs(grid, port_positions(grid))
    tracks, ntracks = assign_tracks(grid, xs)
    tops, y = [], top
    for i, h in enumerate(heights):
        tops.append(y)
        y += h + max(GAP, 2 * TRACK_MARGIN + TRACK_SEP * (ntracks.get(i, 0) - 1))
    lay = Layout(grid, tops, heights, spans, [], spans[-1][1] if spans else 0.0, y)
    lay.paths = [edge_points(r, x, t, lay) for r, x, t in zip(grid.routes, xs, tracks)]
    return lay


def column_spans(cells: list[list[list[Item]]], ncols: int) -> list[tuple[float, float]]:
    """(left, right) of each column: wide enough for its widest row."""
    widths = [0.0] * ncols
    for row_cells in cells:
        for col, cell in enumerate(row_cells):
            widths[col] = max(widths[col], sum(it.w for it in cell) + SEP * max(len(cell) - 1, 0))
    spans, x = [], 0.0
    for w in widths:
        spans.append((x, x + w))
        x += w + COL_GAP
    return spans


def cells_of(row: list[Item], ncols: int) -> list[list[Item]]:
    """A row's items split by column, in order."""
    cells: list[list[Item]] = [[] for _ in range(ncols)]
    for it in row:
        cells[it.col].append(it)
    return cells


def pack(cells: list[list[Item]], spans: list[tuple[float, float]]) -> None:
    """Start positions: each cell's items side by side, centred in their column."""
    for cell, (left, right) in zip(cells, spans):
        x = (left + right - sum(it.w for it in cell) - SEP * max(len(cell) - 1, 0)) / 2
        for it in cell:
            it.x, x = x, x + it.w + SEP


def pull(cells: list[list[Item]], spans: list[tuple[float, float]], near: str) -> None:
    """Move each item towards the mean centre of its neighbours above (or below), keeping order and gaps."""
    for cell, (left, right) in zip(cells, spans):
        if not cell:
            continue
        want = []
        for it in cell:
            others = getattr(it, near)
            want.append(sum(o.centre for o in others) / len(others) - it.port if others else it.x)
        place_in_order(cell, want, left, right)


def place_in_order(cell: list[Item], want: list[float], left: float, right: float) -> None:
    """Set x as close to `want` as the order, the gaps and the column's bounds allow."""
    x = left
    for it, w in zip(cell, want):
        it.x = max(w, x)
        x = it.x + it.w + SEP
    x = right
    for it in reversed(cell):
        it.x = min(it.x, x - it.w)
        x = it.x - SEP


def row_height(row: list[Item], index: int) -> float:
    """Node rows are one box high; edge rows as high as their tallest label."""
    if index % 2 == 0:
        return float(NODE_H)
    return max((LINE_H * len(it.lines) + 2 for it in row if it.kind == "label"), default=4.0)


def port_positions(grid: Grid) -> dict[tuple[int, int], float]:
    """x where each route meets its nodes (key: route index, 0 upper end / 1 lower end), spread on the side."""
    ends: dict[tuple[int, int], list[tuple[float, int, int]]] = {}
    nodes: dict[int, Item] = {}
    for i, route in enumerate(grid.routes):
        ends.setdefault((id(route.upper), 1), []).append((route.items[0].centre, i, 0))
        ends.setdefault((id(route.lower), 0), []).append((route.items[-1].centre, i, 1))
        nodes[id(route.upper)], nodes[id(route.lower)] = route.upper, route.lower
    ports: dict[tuple[int, int], float] = {}
    for (key, side), users in ends.items():
        node = nodes[key]
        assert node.node is not None
        inset = PORT_INSETS[KIND_STYLES[node.node.kind]["shape"]][side]
        users.sort()
        for k, (_, route_index, end) in enumerate(users):
            if inset is None or len(users) == 1:
                ports[(route_index, end)] = node.centre
            else:
                ports[(route_index, end)] = node.x + inset + (node.w - 2 * inset) * k / (len(users) - 1)
    return ports


def route_xs(grid: Grid, ports: dict[tuple[int, int], float]) -> list[list[float]]:
    """Per route, the x where it leaves its upper node, passes each slot, and enters its lower node."""
    return [[ports[(i, 0)], *(it.centre for it in r.items), ports[(i, 1)]] for i, r in enumerate(grid.routes)]


def assign_tracks(grid: Grid, xs: list[list[float]]) -> tuple[list[dict[int, int]], dict[int, int]]:
    """Give each far sideways move across a gap its own horizontal track in that gap.

    Returns, per route, {gap row: track}, and the number of tracks per gap (named by the row above it).
    """
    far: dict[int, list[tuple[float, int]]] = {}
    for i, (route, x) in enumerate(zip(grid.routes, xs)):
        for k in range(len(x) - 1):
            if abs(x[k + 1] - x[k]) > FAR:
                far.setdefault(route.upper.row + k, []).append(((x[k] + x[k + 1]) / 2, i))
    tracks: list[dict[int, int]] = [{} for _ in grid.routes]
    for gap, moves in far.items():
        for t, (_, i) in enumerate(sorted(moves)):
            tracks[i][gap] = t
    return tracks, {gap: len(moves) for gap, moves in far.items()}


def edge_points(route: Route, xs: list[float], tracks: dict[int, int], lay: Layout) -> list[Point]:
    """Points of an edge from its upper to its lower node: down through each slot, sideways on a track."""
    row = route.upper.row
    points = [(xs[0], lay.row_top[row] + lay.row_h[row])]
    for k, x in enumerate(xs[1:]):
        gap, below = row + k, row + k + 1
        if gap in tracks:
            y = lay.row_top[gap] + lay.row_h[gap] + TRACK_MARGIN + TRACK_SEP * tracks[gap]
            points += [(xs[k], y), (x, y)]
        points.append((x, lay.row_top[below]))
        if below != route.lower.row:
            points.append((x, lay.row_top[below] + lay.row_h[below]))
    return points
