"""A self-contained HTML page around the SVG: opens offline fitted to the window; wheel zooms, drag pans,
hovering a node lights its edges and its partitions on other workers, a search box finds a layer, and the
legend stays in view. No outside resources: the script and styles are inline."""
from __future__ import annotations

from xml.sax.saxutils import escape

from . import panels
from .model import View
from .side import legend_svg

STYLE = """
  html, body { margin: 0; height: 100%; overflow: hidden; font-family: sans-serif; background: #ffffff; }
  #bar { position: fixed; top: 0; left: 0; right: 0; height: 36px; box-sizing: border-box; padding: 6px 10px;
         background: #f4f4f4; border-bottom: 1px solid #cccccc; font-size: 13px; z-index: 2;
         display: flex; gap: 6px; align-items: center; white-space: nowrap; overflow: hidden; }
  #view { position: fixed; top: 36px; left: 0; right: 0; bottom: 0; overflow: hidden; cursor: grab;
          user-select: none; }
  #view.dragging { cursor: grabbing; }
  #view > svg { display: block; width: 100%; height: 100%; }
  #legend { position: fixed; right: 10px; bottom: 10px; z-index: 2; padding: 6px; overflow: auto;
            max-height: calc(100% - 70px); background: rgba(255, 255, 255, 0.94);
            border: 1px solid #bbbbbb; border-radius: 6px; }
  #legend svg { display: block; }
  svg.hovering .node:not(.hl):not(.peer), svg.hovering .edge:not(.hl), svg.hovering .elabel:not(.hl) {
    opacity: 0.15; }
  .node.hl .shape, .edge.hl { stroke-width: 3.5px; }
  .node.peer .shape { stroke-width: 3px; stroke-dasharray: 5 2; }
  .node.found .shape { stroke: #000000; stroke-width: 4px; }
"""

# Pan and zoom move one <g> holding the whole picture: scale s, then translation (tx, ty) in page pixels.
SCRIPT = """
"use strict";
const view = document.getElementById("view"), svg = view.querySelector("svg");
const W = svg.viewBox.baseVal.width, H = svg.viewBox.baseVal.height;
const world = document.createElementNS(svg.namespaceURI, "g");
world.id = "world";
for (const n of [...svg.childNodes]) if (n.nodeName !== "defs") world.appendChild(n);
svg.appendChild(world);
for (const a of ["viewBox", "width", "height"]) svg.removeAttribute(a);
let s = 1, tx = 0, ty = 0;
const apply = () => world.setAttribute("transform", `translate(${tx},${ty}) scale(${s})`);
function fit() {
  const r = view.getBoundingClientRect();
  s = Math.min(r.width / W, r.height / H);
  tx = (r.width - W * s) / 2; ty = (r.height - H * s) / 2; apply();
}
function zoomAt(f, x, y) {  // the point (x, y) of the view stays where it is
  const ns = Math.min(Math.max(s * f, 0.01), 20);
  tx = x - (x - tx) * ns / s; ty = y - (y - ty) * ns / s; s = ns; apply();
}
function zoom(f) { const r = view.getBoundingClientRect(); zoomAt(f, r.width / 2, r.height / 2); }
view.addEventListener("wheel", (e) => {
  e.preventDefault();
  const r = view.getBoundingClientRect();
  zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
}, { passive: false });
let drag = null;
view.addEventListener("mousedown", (e) => {
  drag = { x: e.clientX - tx, y: e.clientY - ty }; view.classList.add("dragging");
});
window.addEventListener("mousemove", (e) => {
  if (drag) { tx = e.clientX - drag.x; ty = e.clientY - drag.y; apply(); }
});
window.addEventListener("mouseup", () => { drag = null; view.classList.remove("dragging"); });

const edgesOf = new Map(), peersOf = new Map();
const add = (map, key, el) => { if (!map.has(key)) map.set(key, []); map.get(key).push(el); };
for (const el of svg.querySelectorAll(".edge, .elabel")) {
  add(edgesOf, el.dataset.src, el); add(edgesOf, el.dataset.dst, el);
}
for (const n of svg.querySelectorAll(".node")) add(peersOf, n.dataset.group, n);
let lit = [];
function light(node) {  // the node, its edges, and its partitions on other workers
  for (const el of lit) el.classList.remove("hl", "peer");
  lit = [];
  svg.classList.toggle("hovering", !!node);
  if (!node) return;
  const mark = (el, c) => { el.classList.add(c); lit.push(el); };
  mark(node, "hl");
  for (const el of edgesOf.get(node.dataset.name) || []) mark(el, "hl");
  for (const p of peersOf.get(node.dataset.group) || []) {
    if (p.dataset.worker !== node.dataset.worker) mark(p, "peer");
  }
}
svg.addEventListener("mouseover", (e) => light(e.target.closest(".node")));
svg.addEventListener("mouseleave", () => light(null));  // off the picture (onto the tool bar, say)

const search = document.getElementById("search"), count = document.getElementById("count");
let hits = [], at = 0;
function find(text) {  // the node of that name, else that layer's nodes, else nodes whose name holds the text
  const q = text.trim().toLowerCase(), nodes = [...svg.querySelectorAll(".node")];
  const name = (n) => n.dataset.name.toLowerCase();
  const rank = (n) => !q ? 3 : name(n) === q ? 0 : n.dataset.origin.toLowerCase() === q ? 1 : name(n).includes(q) ? 2 : 3;
  const best = Math.min(3, ...nodes.map(rank));
  for (const n of hits) n.classList.remove("found");
  hits = nodes.filter((n) => best < 3 && rank(n) === best);
  for (const n of hits) n.classList.add("found");
  at = 0; count.textContent = q ? `${hits.length} found` : "";
  if (hits.length) show(hits[0]);
}
function show(node) {  // zoom in to at least 1:1 and put the node in the middle of the view
  const v = view.getBoundingClientRect(), mid = (r) => [r.left + r.width / 2 - v.left, r.top + r.height / 2 - v.top];
  zoomAt(Math.max(s, 1) / s, ...mid(node.getBoundingClientRect()));
  const [x, y] = mid(node.getBoundingClientRect());
  tx += v.width / 2 - x; ty += v.height / 2 - y; apply();
}
search.addEventListener("input", () => find(search.value));
search.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && hits.length) { at = (at + 1) % hits.length; show(hits[at]); }
});
document.addEventListener("keydown", (e) => {
  if (e.target === search) return;
  if (e.key === "+" || e.key === "=") zoom(1.25);
  if (e.key === "-") zoom(0.8);
  if (e.key === "0") fit();
});
document.getElementById("fit").onclick = fit;
document.getElementById("in").onclick = () => zoom(1.25);
document.getElementById("out").onclick = () => zoom(0.8);
fit();
window.viz = { state: () => ({ scale: s, x: tx, y: ty }), fit, find, light };
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<div id="bar">
  <button id="fit" title="fit to the window (0)">fit</button>
  <button id="in" title="zoom in (+)">+</button><button id="out" title="zoom out (-)">&minus;</button>
  <input id="search" type="search" placeholder="find a layer" size="22"><span id="count"></span>
  <span>{title} &mdash; wheel: zoom, drag: pan, hover a node: its edges and its partitions on other workers</span>
</div>
<div id="view">
{svg}
</div>
<div id="legend">
{legend}
</div>
<script>{script}</script>
</body>
</html>
"""


def render_html(view: View, svg: str) -> str:
    """The page: a tool bar, the inline SVG in a pan-and-zoom view, and the legend pinned in a corner."""
    return PAGE.format(title=escape(panels.title(view)), style=STYLE, svg=svg, legend=legend_svg(view),
                       script=SCRIPT)
