"""The side panel of the SVG: legend, cluster topology, params per worker, param slices per server."""
from __future__ import annotations

from . import panels
from .canvas import Canvas
from .model import View
from .style import (
    BACK_COLOUR,
    CROSS_COLOUR,
    EDGE_COLOUR,
    KIND_STYLES,
    LINE_H,
    WORKER_COLOURS,
    text_width,
    worker_colours,
)

ROW = LINE_H + 5
CHIP = 14
MAX_GROUPS_DRAWN = 8  # more groups are summarised in one line
BRIDGE_HEAD = "Bridge bytes per step (row sends to column)"
PROCESS_HEAD = "Wire bytes per step between processes (row sends to column)"
MAX_TABLE_RANKS = 16  # more processes than this: the header's total only


def draw_side(c: Canvas, view: View, x: float, y: float) -> tuple[float, float]:
    """Draw the panel at (x, y); returns its width and height."""
    c.open("g", class_="side", transform=f"translate({x:.1f},{y:.1f})")
    h, w = 0.0, 260.0
    sections = (legend, topology, param_traffic, bridge_table, process_links, process_table, worker_params,
                server_slices)
    for section in sections:
        sw, sh = section(c, view, h)
        w, h = max(w, sw), h + sh + 18
    c.close("g")
    return w, h


def legend_svg(view: View) -> str:
    """The legend alone, as a small SVG document (the HTML page keeps it in view)."""
    c = Canvas()
    w, h = legend(c, view, 0)
    return c.document(w + 4, h + 4)


def heading(c: Canvas, y: float, text: str) -> float:
    """A section heading; returns the y below it."""
    c.text(0, y + 14, text, size=13, font_weight="bold", class_="side-head")
    return y + 22


def legend(c: Canvas, view: View, y0: float) -> tuple[float, float]:
    """Node shapes, worker colours, the unpartitioned style and the three edge styles."""
    y = heading(c, y0, "Legend")
    from .svg import outline

    for style in KIND_STYLES.values():
        if style["shape"] == "rect":
            c.rect(0, y, 30, 16, rx=3, fill="#ffffff", stroke="#444444")
        else:
            c.polygon(outline(style["shape"], 0, y, 30, 16), fill="#ffffff", stroke="#444444")
        c.text(40, y + 12, style["say"], class_="legend-kind")
        y += ROW + 2
    c.rect(0, y, 30, 16, rx=3, fill="#ffffff", stroke="#444444", stroke_width=2.5)
    c.text(40, y + 12, "double border: unpartitioned layer")
    y += ROW + 2
    for colour, dash, say in ((EDGE_COLOUR, None, "tensor within a worker"),
                              (CROSS_COLOUR, None, "tensor crossing workers (bytes/step)"),
                              (BACK_COLOUR, "5 3", "against execution order (RBM)")):
        width = 2.4 if colour == CROSS_COLOUR else 1.2
        c.path(f"M0,{y + 8} L30,{y + 8}", stroke=colour, stroke_width=width, stroke_dasharray=dash)
        c.text(40, y + 12, say)
        y += ROW
    for worker in view.workers[:len(WORKER_COLOURS)]:
        fill, stroke = worker_colours((worker,))
        c.rect(0, y, 30, 14, rx=3, fill=fill, stroke=stroke)
        c.text(40, y + 11, f"worker {worker}")
        y += ROW - 2
    says = [s["say"] for s in KIND_STYLES.values()] + ["double border: unpartitioned layer"]
    return 40 + max(map(text_width, says)), y - y0


def topology(c: Canvas, view: View, y0: float) -> tuple[float, float]:
    """Worker groups as boxes of worker chips, server groups as boxes of server chips."""
    t = view.topology
    y = heading(c, y0, f"Cluster{' - ' + t.framework if t.framework else ''}")
    y, w1 = chip_boxes(c, y, "worker group", t.nworker_groups, t.nworkers_per_group, "w")
    y, w2 = chip_boxes(c, y, "server group", t.nserver_groups, t.nservers_per_group, "s")
    c.text(0, y + 12, panels.plural(t.nprocs, "process", "processes") + " (rank: its workers and servers)")
    y += ROW
    lines = panels.rank_lines(view)
    for line in lines:
        c.text(0, y + 11, line, size=10, class_="rank-roles", style="white-space:pre")
        y += LINE_H
    return max(w1, w2, *(text_width(line, 10) for line in lines)), y + 4 - y0


def chip_boxes(c: Canvas, y: float, what: str, groups: int, per_group: int, tag: str) -> tuple[float, float]:
    """One boxed row of chips per group; returns the y below and the width used."""
    shown = min(groups, MAX_GROUPS_DRAWN)
    chips = min(per_group, 16)
    width = 110 + chips * (CHIP + 22)
    for g in range(shown):
        c.rect(0, y, width, CHIP + 10, rx=5, fill="#fafafa", stroke="#888888", class_=f"{tag}group")
        c.text(6, y + 16, f"{what} {g}", size=10)
        for k in range(chips):
            fill, stroke = worker_colours((k,)) if tag == "w" else ("#eeeeee", "#555555")
            c.rect(104 + k * (CHIP + 22), y + 5, CHIP + 18, CHIP, rx=3, fill=fill, stroke=stroke)
            c.text(104 + k * (CHIP + 22) + (CHIP + 18) / 2, y + 16, f"{tag}{k}", size=9, text_anchor="middle")
        y += CHIP + 14
    if groups > shown or per_group > chips:
        c.text(0, y + 10, f"... {groups} groups x {per_group} in all", size=10)
        y += ROW
    return y, width


def worker_params(c: Canvas, view: View, y0: float) -> tuple[float, float]:
    """The params each worker holds, in its colour."""
    y = heading(c, y0, "Params held per worker")
    lines = panels.worker_param_lines(view)
    for worker, line in lines:
        c.text(0, y + 11, line, size=10, fill=worker_colours((worker,))[1], class_="worker-params",
               style="white-space:pre")
        y += LINE_H
    if not lines:
        c.text(0, y + 11, "(none)", size=10)
        y += LINE_H
    return max((text_width(line, 10) for _, line in lines), default=0), y - y0


def server_slices(c: Canvas, view: View, y0: float) -> tuple[float, float]:
    """The param slices each server owns."""
    y = heading(c, y0, "Param slices per server")
    lines = panels.server_lines(view)
    for line in lines:
        c.text(0, y + 11, line, size=10, class_="server-slices", style="white-space:pre")
        y += LINE_H
    return max(text_width(line, 10) for line in lines), y - y0


def param_traffic(c: Canvas, view: View, y0: float) -> tuple[float, float]:
    """Bytes per step each worker pushes and pulls, and each server takes in and sends out."""
    y = heading(c, y0, "Param traffic per step (per worker, before a process sums its workers')")
    lines = panels.param_traffic_lines(view)
    for line in lines:
        worker = int(line.split()[1].rstrip(":")) if line.startswith("worker ") else None
        colour = worker_colours((worker,))[1] if worker is not None else None
        c.text(0, y + 11, line, size=10, fill=colour, class_="param-traffic", style="white-space:pre")
        y += LINE_H
    return max(text_width(line, 10) for line in lines), y - y0


def bridge_table(c: Canvas, view: View, y0: float) -> tuple[float, float]:
    """The worker x worker table of bridge bytes per step (row sends to column)."""
    rows = panels.bridge_table(view)
    if not view.traffic.bridges:  # nothing crosses workers
        return 0.0, -18.0
    y = heading(c, y0, BRIDGE_HEAD)
    cell = max(text_width(text, 10) for row in rows for text in row) + 10
    for i, row in enumerate(rows):
        for k, text in enumerate(row):
            bold = "bold" if i == 0 or k == 0 else None
            colour = "#888888" if text == "-" else CROSS_COLOUR if i and k else None
            c.text(k * cell, y + 11, text, size=10, font_weight=bold, fill=colour, class_="bridge-cell")
        y += LINE_H
    return max(cell * len(rows[0]), text_width(BRIDGE_HEAD, 13)), y - y0


def process_links(c: Canvas, view: View, y0: float) -> tuple[float, float]:
    """Bytes per step on each worker process -> server process link, after each stub sums its workers'."""
    head = "Param links per step (worker process -> server process, summed per process)"
    y = heading(c, y0, head)
    lines = panels.link_lines(view)
    for line in lines:
        colour = CROSS_COLOUR if line.endswith("(cross-host)") else "#888888" if line.endswith("(in process)") else None
        c.text(0, y + 11, line, size=10, fill=colour, class_="process-link", style="white-space:pre")
        y += LINE_H
    return max(text_width(head, 13), *(text_width(line, 10) for line in lines)), y - y0


def process_table(c: Canvas, view: View, y0: float) -> tuple[float, float]:
    """The process x process table of wire bytes per step (params + bridges); '*' marks a cross-host cell."""
    ranks = view.placement.ranks
    if len(ranks) < 2:  # one process: nothing goes on the wire
        return 0.0, -18.0
    y = heading(c, y0, PROCESS_HEAD)
    if len(ranks) > MAX_TABLE_RANKS:
        c.text(0, y + 11, f"({len(ranks)} processes: too many for a table; the header has the total)", size=10)
        return text_width(PROCESS_HEAD, 13), y + LINE_H - y0
    rows = panels.process_table(view)
    cell = max(text_width(text, 10) for row in rows for text in row) + 10
    for i, row in enumerate(rows):
        for k, text in enumerate(row):
            bold = "bold" if i == 0 or k == 0 else None
            colour = "#888888" if text == "-" else CROSS_COLOUR if text.endswith("*") else None
            c.text(k * cell, y + 11, text, size=10, font_weight=bold, fill=colour, class_="process-cell")
        y += LINE_H
    if view.placement.hosts:
        c.text(0, y + 11, "* crosses hosts", size=10, fill=CROSS_COLOUR)
        y += LINE_H
    return max(cell * len(rows[0]), text_width(PROCESS_HEAD, 13)), y - y0
