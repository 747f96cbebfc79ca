"""A self-contained HTML page around the SVG: opens offline, zooms with the keyboard or buttons."""
from __future__ import annotations

from xml.sax.saxutils import escape

from . import panels
from .model import View

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ margin: 0; font-family: sans-serif; background: #ffffff; }}
  #bar {{ position: sticky; top: 0; padding: 6px 12px; background: #f4f4f4; border-bottom: 1px solid #ccc;
          font-size: 13px; z-index: 1; }}
  #bar button {{ margin-right: 4px; }}
  #view {{ overflow: auto; }}
  #view svg {{ transform-origin: 0 0; }}
</style>
</head>
<body>
<div id="bar">
  <button onclick="zoom(1.25)">+</button><button onclick="zoom(0.8)">&minus;</button>
  <button onclick="zoom(0)">1:1</button>
  <span>{title} &mdash; hover a node for its params and shape</span>
</div>
<div id="view">
{svg}
</div>
<script>
  // Zoom by scaling the SVG's size, so the page scrolls over the whole picture.
  const svg = document.querySelector("#view svg");
  const w = svg.width.baseVal.value, h = svg.height.baseVal.value;
  let scale = 1;
  function zoom(f) {{
    scale = f === 0 ? 1 : scale * f;
    svg.setAttribute("width", w * scale);
    svg.setAttribute("height", h * scale);
  }}
  document.addEventListener("keydown", (e) => {{
    if (e.key === "+" || e.key === "=") zoom(1.25);
    if (e.key === "-") zoom(0.8);
    if (e.key === "0") zoom(0);
  }});
</script>
</body>
</html>
"""


def render_html(view: View, svg: str) -> str:
    """The page: a zoom bar and the inline SVG, with no outside resources."""
    return PAGE.format(title=escape(panels.title(view)), svg=svg)
