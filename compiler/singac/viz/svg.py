"""The SVG picture: header, worker columns, edges, nodes, edge labels, and the side panel."""
from __future__ import annotations

from . import panels
from .canvas import Canvas, Point, curve_path
from .collapse import group_key
from .grid import NODE_H, Item, build_grid
from .layout import SLANT, Layout, layout_grid
from .model import View, VNode
from .side import draw_side
from .style import (
    BACK_COLOUR,
    CROSS_COLOUR,
    EDGE_COLOUR,
    KIND_STYLES,
    LINE_H,
    WORKER_COLOURS,
    shape_text,
    text_width,
    worker_colours,
)

MARGIN = 20
HEADER_H = 123  # title, four lines, and the strip above the columns where each rank's frame is labelled
RANK_STRIP = 20  # height of a rank frame's label strip above its columns
RANK_PAD = 16  # a rank frame reaches this far beyond its columns' bands (which reach 12)
GRAPH_X = MARGIN + RANK_PAD  # left of the first column, so the first rank frame stays on the page
COLHEAD_H = 30
PANEL_GAP = 48

# Arrowhead marker per edge colour.
MARKERS = {"plain": EDGE_COLOUR, "cross": CROSS_COLOUR, "back": BACK_COLOUR}


def render_svg(view: View) -> str:
    """The whole picture of `view` as an SVG document."""
    lay = layout_grid(build_grid(view), top=MARGIN + HEADER_H + COLHEAD_H)
    c = Canvas()
    define_markers(c)
    c.rect(0, 0, "100%", "100%", fill="#ffffff")
    draw_header(c, view)
    c.open("g", transform=f"translate({GRAPH_X},0)")
    draw_ranks(c, view, lay)
    draw_columns(c, lay)
    draw_edges(c, lay)
    draw_nodes(c, lay)
    draw_labels(c, lay)
    c.close("g")
    side_w, side_h = draw_side(c, view, GRAPH_X + lay.width + PANEL_GAP, MARGIN + HEADER_H)
    header_w = max(text_width(line, 12) for line in header_lines(view))
    width = max(GRAPH_X + lay.width + PANEL_GAP + side_w, MARGIN + header_w) + MARGIN
    height = max(lay.height, MARGIN + HEADER_H + side_h) + MARGIN
    return c.document(width, height)


def define_markers(c: Canvas) -> None:
    """One arrowhead per edge colour."""
    c.open("defs")
    for name, colour in MARKERS.items():
        c.add(f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerUnits="userSpaceOnUse" '
              f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>'
              "</marker>")
    c.close("defs")


def draw_header(c: Canvas, view: View) -> None:
    """Job name and phase, topology, what the groups do, and the bytes crossing workers."""
    c.text(MARGIN, MARGIN + 18, panels.title(view), size=18, font_weight="bold", class_="title")
    for i, line in enumerate(header_lines(view)):
        colour = CROSS_COLOUR if i == 2 and view.cross_bytes else None
        c.text(MARGIN, MARGIN + 40 + i * (LINE_H + 4), line, size=12, fill=colour, class_=f"header-{i}")


def header_lines(view: View) -> list[str]:
    """The lines under the title: topology, what the groups do, the traffic, and the wire between processes."""
    return [panels.topology_line(view), panels.groups_line(view), panels.traffic_line(view),
            panels.process_line(view)]


def draw_ranks(c: Canvas, view: View, lay: Layout) -> None:
    """A labelled frame around the worker columns each process hosts (of the drawn group, group 0)."""
    if view.collapsed or not lay.row_top:
        return
    top = lay.row_top[0] - COLHEAD_H - RANK_STRIP
    for rank in view.placement.ranks:
        mine = {w for g, w in view.placement.workers.get(rank, []) if g == 0}
        spans = [span for span, worker in zip(lay.col_span, lay.grid.columns) if worker in mine]
        if not spans:
            continue
        left, right = spans[0][0] - RANK_PAD, spans[-1][1] + RANK_PAD
        c.rect(left, top, right - left, lay.height - top + 6, rx=10, fill="#f3f3f3", stroke="#555555",
               stroke_width=1.5, class_="rank", data_rank=rank)
        host = view.placement.hosts.get(rank)
        c.text(left + 8, top + 14, f"rank {rank}" + (f" on {host}" if host else ""), size=12, font_weight="bold",
               fill="#555555", class_="rank-head")


def draw_columns(c: Canvas, lay: Layout) -> None:
    """A tinted band and a heading per worker column."""
    top = lay.row_top[0] - COLHEAD_H if lay.row_top else 0
    for (left, right), worker in zip(lay.col_span, lay.grid.columns):
        fill, stroke = WORKER_COLOURS[worker % len(WORKER_COLOURS)] if worker >= 0 else ("#f6f6f6", "#999999")
        c.rect(left - 12, top, right - left + 24, lay.height - top, rx=8, fill=fill, fill_opacity=0.35,
               stroke=stroke, stroke_opacity=0.5, stroke_dasharray="4 3", class_="column")
        head = f"worker {worker}" if worker >= 0 else "all workers"
        c.text((left + right) / 2, top + 19, head, size=13, font_weight="bold", fill=stroke,
               text_anchor="middle", class_="column-head")


def draw_edges(c: Canvas, lay: Layout) -> None:
    """Every edge, from source to destination; crossing edges thick and red, backward ones dashed."""
    for route, points in zip(lay.grid.routes, lay.paths):
        e = route.edge
        style = "cross" if e.cross else "back" if route.upward else "plain"
        if route.lower.node is not None and route.lower.node.kind == "bridge_dst":
            points = [*points[:-1], (points[-1][0], points[-1][1] + SLANT)]  # into the receive notch
        ordered: list[Point] = points[::-1] if route.upward else points
        c.path(curve_path(ordered), fill="none", stroke=MARKERS[style],
               stroke_width=2.4 if e.cross else 1.2, stroke_dasharray="5 3" if style == "back" else None,
               marker_end=f"url(#arrow-{style})", class_=f"edge {style}", data_src=e.src, data_dst=e.dst)


def draw_nodes(c: Canvas, lay: Layout) -> None:
    """Every node in its kind's shape and its worker's colour, with name and type inside."""
    for row_index, row in enumerate(lay.grid.rows):
        for item in row:
            if item.node is not None:
                draw_node(c, item, item.node, lay.row_top[row_index])


def draw_node(c: Canvas, item: Item, node: VNode, y: float) -> None:
    """One node: a group holding its shape, its two text lines and a tooltip."""
    fill, stroke = worker_colours(node.workers)
    workers = " ".join(f"worker-{w}" for w in node.workers)
    c.open("g", class_=f"node kind-{node.kind} {workers}" + (" whole" if node.whole else ""),
           data_name=node.name, data_kind=node.kind, data_origin=node.origin, data_group=group_key(node),
           data_worker=",".join(map(str, node.workers)))
    c.title(tooltip(node))
    shape = KIND_STYLES[node.kind]["shape"]
    x, w, h = item.x, item.w, NODE_H
    if node.whole:
        c.rect(x, y, w, h, rx=6, fill="#ffffff", stroke=stroke, stroke_width=2.5, class_="shape")
        c.rect(x + 3.5, y + 3.5, w - 7, h - 7, rx=4, fill="none", stroke=stroke, stroke_width=1)
    elif shape == "rect":
        c.rect(x, y, w, h, rx=6, fill=fill, stroke=stroke, stroke_width=1.3, class_="shape")
    else:
        c.polygon(outline(shape, x, y, w, h), fill=fill, stroke=stroke, stroke_width=1.6, class_="shape")
    from .grid import node_lines

    first, second = node_lines(node)
    base = y + {"receive": 21, "send": 14}.get(shape, 16)
    c.text(x + w / 2, base, first, text_anchor="middle", font_weight="bold")
    c.text(x + w / 2, base + LINE_H, second, size=10, text_anchor="middle", fill="#444444")
    c.close("g")


def outline(shape: str, x: float, y: float, w: float, h: float) -> list[Point]:
    """Corner points of a connection node's shape within its box."""
    s, r, b = SLANT, x + w, y + h
    shapes = {
        "widen": [(x + s, y), (r - s, y), (r, b), (x, b)],
        "narrow": [(x, y), (r, y), (r - s, b), (x + s, b)],
        "hexagon": [(x + s, y), (r - s, y), (r, y + h / 2), (r - s, b), (x + s, b), (x, y + h / 2)],
        "send": [(x, y), (r, y), (r, b - s), (x + w / 2, b), (x, b - s)],
        "receive": [(x, y), (x + w / 2, y + s), (r, y), (r, b), (x, b)],
    }
    return shapes[shape]


def tooltip(node: VNode) -> str:
    """What hovering over a node says."""
    workers = ",".join(map(str, node.workers))
    params = " ".join(node.params) or "none"
    return (f"{node.name} ({node.kind}, {node.type}) of layer {node.origin}; output {shape_text(node.shape)}; "
            f"worker {workers}; params {params}")


def draw_labels(c: Canvas, lay: Layout) -> None:
    """Each edge's label in its slot, right of the edge line, over a white halo."""
    for route in lay.grid.routes:
        item = route.items[0]
        if item.kind != "label":
            continue
        y = lay.row_top[item.row] + LINE_H - 2
        colour = CROSS_COLOUR if route.edge.cross else "#333333"
        for k, line in enumerate(item.lines):
            c.text(item.x + 10, y + k * LINE_H, line, size=10, fill=colour, class_="elabel",
                   font_weight="bold" if route.edge.cross else None, stroke="#ffffff", stroke_width=3,
                   paint_order="stroke", data_src=route.edge.src, data_dst=route.edge.dst)
