"""The layered grid: rows by longest path in execution order, one column per worker, ordered by barycentre.

Node rows alternate with edge rows. An edge takes one slot in every row it passes: its label in the edge
row just below its upper end, a thin pass-through slot in every other row. Slots are packed like nodes, so
no label overlaps another and no edge runs through a box.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from .model import VEdge, View, VNode
from .style import LINE_H, text_width

NODE_H = 2 * LINE_H + 12
PASS_W = 8  # width of a pass-through slot
LABEL_PAD = 10  # room left of a label for its edge, and right of it
SWEEPS = 4  # one for grids of LARGE slots or more
LARGE = 20_000


@dataclass(eq=False)
class Item:
    """One slot of the grid: a node, an edge's label, or an edge passing through."""

    kind: str  # "node", "label" or "pass"
    row: int
    col: int
    w: float
    port: float  # x of the edge (or node centre) from the item's left side
    node: VNode | None = None
    lines: tuple[str, ...] = ()
    x: float = 0.0
    up: list[Item] = field(default_factory=list)
    down: list[Item] = field(default_factory=list)

    @property
    def centre(self) -> float:
        return self.x + self.port


@dataclass(eq=False)
class Route:
    """An edge's slots from its upper end to its lower end; `upward` when the arrow points up."""

    edge: VEdge
    upper: Item
    lower: Item
    items: list[Item]  # never empty: a lower end is at least two rows down
    upward: bool


@dataclass
class Grid:
    """Items by row, routes of all edges, and the column of each worker."""

    rows: list[list[Item]]
    routes: list[Route]
    columns: list[int]  # worker shown in each column (-1: all workers, collapsed)


def column_of(view: View) -> dict[int, int]:
    """Worker -> column (collapsed views draw one column)."""
    return {w: (0 if view.collapsed else i) for i, w in enumerate(view.workers)}


# What an inserted node does, for its short label (its full name is in its tooltip).
VERBS = {"slice": "slice", "concat": "concat", "split": "split", "bridge_src": "send", "bridge_dst": "recv"}


def short_name(node: VNode) -> str:
    """A compute node's name; for an inserted node what it does to which layer: 'send norm2 to w1'."""
    if node.kind == "compute":
        return node.name
    text = f"{VERBS[node.kind]} {node.origin}"
    if node.peer >= 0 and node.count == 1:
        text += f" {'to' if node.kind == 'bridge_src' else 'from'} w{node.peer}"
    return text


def node_lines(node: VNode) -> tuple[str, str]:
    """The two text lines inside a node's box."""
    name = short_name(node)
    name = f"{name} x{node.count}" if node.count > 1 else name
    detail = node.type
    if len(node.workers) > 1:
        detail += f" w{node.workers[0]}-{node.workers[-1]}"
    if node.whole:
        detail += " (whole)"
    return name, detail


def node_width(node: VNode) -> float:
    """Box width that fits the node's text inside its shape."""
    return max(map(text_width, node_lines(node))) + 36


def edge_lines(edge: VEdge) -> tuple[str, ...]:
    """An edge's label: its tensor shape, and its bytes per step when it crosses workers."""
    from .style import bytes_text, shape_text

    first = shape_text(edge.shape) + (f" x{edge.count}" if edge.count > 1 else "")
    return (first, f"{bytes_text(edge.nbytes)}/step") if edge.cross else (first,)


def rank_nodes(view: View) -> dict[str, int]:
    """Longest-path rank in execution order; an edge against that order counts as pointing down."""
    order = {n.name: i for i, n in enumerate(view.nodes)}
    preds: dict[str, list[str]] = {n.name: [] for n in view.nodes}
    for e in view.edges:
        if e.src != e.dst:
            upper, lower = sorted((e.src, e.dst), key=order.__getitem__)
            preds[lower].append(upper)
    rank: dict[str, int] = {}
    for node in view.nodes:
        rank[node.name] = max((rank[p] + 1 for p in preds[node.name]), default=0)
    return rank


def build_grid(view: View) -> Grid:
    """Place every node and edge slot in a (row, column) cell and order each cell's items."""
    rank, col = rank_nodes(view), column_of(view)
    nrows = 2 * max(rank.values(), default=0) + 1
    rows: list[list[Item]] = [[] for _ in range(nrows)]
    at: dict[str, Item] = {}
    for node in view.nodes:
        item = Item("node", 2 * rank[node.name], col[node.worker], node_width(node), 0.0, node=node)
        item.port = item.w / 2
        rows[item.row].append(item)
        at[node.name] = item
    routes = [route_edge(e, at, rows, col) for e in view.edges if e.src != e.dst]
    for _ in range(SWEEPS if sum(map(len, rows)) < LARGE else 1):
        sort_rows(rows, lambda it: it.up)
        sort_rows(rows[::-1], lambda it: it.down)
    columns = [-1] if view.collapsed else view.workers
    return Grid(rows, routes, columns)


def route_edge(edge: VEdge, at: dict[str, Item], rows: list[list[Item]], col: dict[int, int]) -> Route:
    """Slots for `edge` in the rows between its ends: its label first, then pass-throughs."""
    top, bottom = at[edge.src], at[edge.dst]
    upward = top.row > bottom.row
    if upward:
        top, bottom = bottom, top
    chain = [top]
    for row in range(top.row + 1, bottom.row):
        if row == top.row + 1:
            lines = edge_lines(edge)
            item = Item("label", row, top.col, max(map(text_width, lines)) + 2 * LABEL_PAD, 3.0, lines=lines)
        else:
            item = Item("pass", row, bottom.col, PASS_W, PASS_W / 2)
        rows[row].append(item)
        chain.append(item)
    chain.append(bottom)
    for upper, lower in itertools.pairwise(chain):
        upper.down.append(lower)
        lower.up.append(upper)
    return Route(edge, top, bottom, chain[1:-1], upward)


def sort_rows(rows: list[list[Item]], neighbours) -> None:
    """One barycentre sweep: order each row's items (within their column) by their neighbours' places."""
    place: dict[Item, float] = {}
    for row in rows:
        for item in row:
            near = [place[n] for n in neighbours(item) if n in place]
            item.x = sum(near) / len(near) if near else item.x
        row.sort(key=lambda it: (it.col, it.x))
        for i, item in enumerate(row):
            # Places are fractions of the row, so rows of different lengths compare.
            item.x = place[item] = (i + 0.5) / len(row)
