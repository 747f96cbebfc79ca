"""singac viz: a picture of a plan's partitioned graph, its workers, its traffic and where its params live."""
from __future__ import annotations

from singa_proto import plan_pb2

from ..errors import SingaError
from .collapse import collapse_reason, collapse_view
from .dot import render_dot
from .html import render_html
from .model import PHASES, View, build_view
from .png import svg_to_png
from .svg import render_svg


def svg_of(view: View) -> bytes:
    return render_svg(view).encode()


def html_of(view: View) -> bytes:
    return render_html(view, render_svg(view)).encode()


def dot_of(view: View) -> bytes:
    return render_dot(view).encode()


def png_of(view: View) -> bytes:
    return svg_to_png(render_svg(view))


# Output format, by the output file's suffix.
RENDERERS = {".svg": svg_of, ".html": html_of, ".dot": dot_of, ".png": png_of}


def render(plan: plan_pb2.PlanProto, fmt: str = ".svg", phase: str = "train", collapse: bool | None = False,
           hosts: dict[int, str] | None = None) -> bytes:
    """The picture of one phase of `plan` in format `fmt` ('.svg', '.html', '.dot', '.png'); `hosts` maps
    ranks to the hosts they land on."""
    return draw(build_view(plan, phase, hosts), fmt, collapse)[0]


def draw(view: View, fmt: str, collapse: bool | None) -> tuple[bytes, str | None]:
    """The picture of `view`, and why it was collapsed by itself (collapse=None: when that helps)."""
    if fmt not in RENDERERS:
        raise SingaError(f"unknown picture format '{fmt}': use one of {', '.join(RENDERERS)}")
    reason = collapse_reason(view) if collapse is None else None
    return RENDERERS[fmt](collapse_view(view) if collapse or reason else view), reason


__all__ = ["PHASES", "RENDERERS", "View", "build_view", "collapse_reason", "collapse_view", "draw", "render"]
