"""The `singac viz` sub-command: draw a plan (or a job file, compiled in memory) as SVG, HTML, DOT or PNG."""
from __future__ import annotations

import argparse
from pathlib import Path

from singa_proto import plan_pb2

from ..errors import SingaError
from . import PHASES, RENDERERS, build_view, draw
from .collapse import AUTO_COLLAPSE_NODES
from .hosts import hosts_of

# Inputs with these suffixes are job files (protobuf text) and are compiled first; others are plans.
JOB_SUFFIXES = (".pbtxt", ".conf", ".prototxt", ".txt")


def add_viz_command(subparsers: argparse._SubParsersAction) -> None:
    """Register `viz` with the `singac` command's sub-parsers."""
    p = subparsers.add_parser(
        "viz", help="draw the partitioned graph of a plan or job",
        description="Draw one phase's partitioned graph: nodes per worker, connection nodes, tensor "
        "shapes, bytes crossing workers, params per worker and slices per server, the processes that host "
        "them and the bytes per step between processes.")
    p.add_argument("input", help="a plan file (plan.bin) or a job file (job.pbtxt, compiled in memory)")
    p.add_argument("-o", "--output", required=True,
                   help=f"the picture; its suffix picks the format ({', '.join(RENDERERS)}; .png needs headless Chromium)")
    p.add_argument("--phase", default="train", help=f"which phase's graph ({', '.join(PHASES)}; default train)")
    p.add_argument("--collapse", action="store_true", default=None,
                   help="draw the partitions of each layer as one node; by default a picture collapses by "
                   f"itself when its workers' columns are identical or it has over {AUTO_COLLAPSE_NODES} nodes")
    p.add_argument("--no-collapse", dest="collapse", action="store_false", help="never collapse")
    p.add_argument("--hosts", metavar="FILE",
                   help="a hosts file (one host per line, optional slots=N, # comments), as `singart run --hosts` "
                   "takes: draw the host each rank lands on (ranks fill the hosts in file order) and mark "
                   "cross-host links")
    from ..cli import add_plugin_option  # the one definition of the flag

    add_plugin_option(p)
    p.set_defaults(func=run_viz)


def run_viz(args: argparse.Namespace) -> int:
    """Load, draw and write the picture; user errors are SingaErrors."""
    fmt = Path(args.output).suffix.lower()
    if fmt not in RENDERERS:
        raise SingaError(f"{args.output}: unknown picture format '{fmt}': use one of {', '.join(RENDERERS)}")
    plan = load_plan(args.input)
    hosts = hosts_of(args.hosts, plan.topology.nprocs or len(plan.roles) or 1) if args.hosts else None
    data, reason = draw(build_view(plan, args.phase, hosts), fmt, args.collapse)
    write_output(args.output, data)
    print(f"{args.output}: {args.phase} phase, {len(data)} bytes")
    if reason:
        print(f"collapsed: {reason}; --no-collapse to expand")
    return 0


def load_plan(path: str) -> plan_pb2.PlanProto:
    """A plan read from `path`, or compiled from it when it is a job file."""
    from singa_spec.plans import read_plan

    from ..compile import compile_file

    return compile_file(path) if Path(path).suffix.lower() in JOB_SUFFIXES else read_plan(path)


def write_output(path: str, data: bytes) -> None:
    """Write the picture; an unwritable path is a one-line error."""
    try:
        Path(path).write_bytes(data)
    except OSError as e:
        raise SingaError(f"{path}: cannot write picture: {e.strerror or e}") from None
