"""The Graphviz DOT text of a view: one cluster per worker, a shape per node kind, labelled edges."""
from __future__ import annotations

from . import panels
from .grid import edge_lines, node_lines
from .model import VEdge, View, VNode
from .style import BACK_COLOUR, CROSS_COLOUR, EDGE_COLOUR, FONT, KIND_STYLES, WORKER_COLOURS, worker_colours


def quote(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(view: View) -> str:
    """The whole view as a DOT digraph, laid out top-down in execution order."""
    head = [panels.title(view), panels.topology_line(view), panels.traffic_line(view), panels.process_line(view)]
    label = "\\l".join(head) + "\\l"
    lines = [
        f"digraph {quote(view.job)} {{",
        f'  graph [rankdir=TB, labelloc=t, labeljust=l, fontname="{FONT}", newrank=true, label="{label}"];',
        f'  node [fontname="{FONT}", fontsize=10, style=filled];',
        f'  edge [fontname="{FONT}", fontsize=9, color="{EDGE_COLOUR}"];',
    ]
    by_worker: dict[int, list[VNode]] = {}
    for node in view.nodes:
        by_worker.setdefault(-1 if len(node.workers) > 1 else node.worker, []).append(node)
    for worker, nodes in sorted(by_worker.items()):
        lines += cluster(worker, nodes)
    lines += [edge_line(e) for e in view.edges]
    lines += side_table(view)
    lines.append("}")
    return "\n".join(lines) + "\n"


def cluster(worker: int, nodes: list[VNode]) -> list[str]:
    """A boxed cluster of one worker's nodes (worker -1: nodes spanning several workers)."""
    fill, stroke = WORKER_COLOURS[worker % len(WORKER_COLOURS)] if worker >= 0 else ("#f6f6f6", "#999999")
    head = f"worker {worker}" if worker >= 0 else "several workers"
    out = [f"  subgraph cluster_w{worker if worker >= 0 else 'all'} {{",
           f'    label={quote(head)}; style="rounded,dashed"; color="{stroke}"; bgcolor="{fill}40";']
    out += [f"    {node_line(n)}" for n in nodes]
    out.append("  }")
    return out


def node_line(node: VNode) -> str:
    """One node statement: shape by kind, colours by worker, double border when unpartitioned."""
    fill, stroke = worker_colours(node.workers)
    attrs = {"label": "\n".join(node_lines(node)), "shape": KIND_STYLES[node.kind]["dot"],
             "fillcolor": "#ffffff" if node.whole else fill, "color": stroke}
    if node.whole:
        attrs["peripheries"] = "2"
    if node.kind == "compute":
        attrs["style"] = "rounded,filled"
    return f"{quote(node.name)} [{', '.join(f'{k}={quote(v)}' for k, v in attrs.items())}];"


def edge_line(edge: VEdge) -> str:
    """One edge statement labelled with its shape (and bytes when it crosses workers)."""
    attrs = {"label": "\n".join(edge_lines(edge))}
    if edge.cross:
        attrs.update(color=CROSS_COLOUR, fontcolor=CROSS_COLOUR, penwidth="2.4")
    elif edge.back:
        attrs.update(color=BACK_COLOUR, style="dashed", constraint="false")
    return f"  {quote(edge.src)} -> {quote(edge.dst)} [{', '.join(f'{k}={quote(v)}' for k, v in attrs.items())}];"


def side_table(view: View) -> list[str]:
    """Params per worker, slices per server, processes and their param links, as one plain-text box."""
    text = ["Params held per worker"] + [line for _, line in panels.worker_param_lines(view)]
    text += ["", "Param slices per server"] + panels.server_lines(view)
    text += ["", "Processes"] + panels.rank_lines(view)
    text += ["", "Param links per step"] + panels.link_lines(view)
    label = "\\l".join(t.replace("\\", "\\\\").replace('"', '\\"') for t in text) + "\\l"
    return [f'  "#params" [shape=note, style=filled, fillcolor="#ffffff", fontsize=9, label="{label}"];']
