"""The `singac` command: compile a job into a plan, show a plan, draw it."""
from __future__ import annotations

import argparse
import signal
import sys

from google.protobuf import text_format
from singa_spec import SingaError
from singa_spec.console import silence_stdout, stdout_gone, version
from singa_spec.plans import read_plan, write_plan
from singa_spec.plugins import load_plugins

from . import debug
from .compile import compile_file
from .report import memory_lines, process_phrase


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `singac` console script."""
    args = _parser().parse_args(argv)
    try:
        load_plugins(args.plugin)  # before the job is parsed: they add layer kinds and conf extensions
        code = int(args.func(args))
        sys.stdout.flush()  # a reader that went away shows here, not as a warning at exit
        return code
    except BrokenPipeError as e:
        if stdout_gone():  # `singac show plan | head -1`: end quietly, as a tool SIGPIPE ends
            silence_stdout()
            return 128 + signal.SIGPIPE
        print(f"singac: error: {e}", file=sys.stderr)
        return 2
    except SingaError as e:
        print(f"singac: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("singac: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a compiler bug: still one line, with a way to see more
        if debug.DEBUG:
            raise
        print(f"singac: internal error: {type(e).__name__}: {e} (set SINGAC_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 70


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="singac", description="Compile SINGA job descriptions into "
                                "partitioned placement plans, and show or draw them.")
    p.add_argument("--version", action="version", version=f"singac (singa-py) {version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    c = sub.add_parser("compile", help="parse, check, infer shapes, partition and place a job",
                       description="Compile a job file (protobuf text) into a plan file.")
    c.add_argument("job", help="the job file (protobuf text, e.g. job.pbtxt)")
    c.add_argument("-o", "--output", required=True, help="where to write the plan (e.g. plan.bin)")
    add_plugin_option(c)
    c.set_defaults(func=_compile)
    s = sub.add_parser("show", help="print a plan as protobuf text",
                       description="Print a plan file as protobuf text: nodes, workers, params, "
                       "slices and roles, after `#` comment lines with its memory estimate.")
    s.add_argument("plan", help="a plan file written by `singac compile`")
    add_plugin_option(s)
    s.set_defaults(func=_show)
    _add_viz(sub)
    return p


def add_plugin_option(p: argparse.ArgumentParser) -> None:
    """`--plugin X` (repeatable): a Python file or module that registers layer kinds and the like."""
    p.add_argument("--plugin", action="append", default=[], metavar="FILE_OR_MODULE",
                   help="load a plugin first: a Python file (path/to/plugin.py) or an importable module "
                   "that registers layer kinds, updaters, ...; repeatable (installed packages' "
                   "singa.plugins entry points load by themselves)")


def _add_viz(sub) -> None:
    from .viz.cli import add_viz_command  # here, so that compile and show do not load the drawing code
    add_viz_command(sub)


def _compile(args: argparse.Namespace) -> int:
    plan = compile_file(args.job)
    write_plan(plan, args.output)
    nodes = sum(len(g.nodes) for g in plan.graphs)
    print(f"{args.output}: {len(plan.graphs)} phase(s), {nodes} nodes, {len(plan.params)} params, "
          f"{plan.topology.nprocs} process(es), {process_phrase(plan)}, hash {plan.content_hash[:12]}")
    return 0


def _show(args: argparse.Namespace) -> int:
    plan = read_plan(args.plan)
    sys.stdout.write("".join(line + "\n" for line in memory_lines(plan)))  # comments: still protobuf text
    sys.stdout.write(text_format.MessageToString(plan))
    return 0
