"""Compile a job: parse, build each phase's graph, run the passes, emit the plan."""
from __future__ import annotations

from singa_proto import job_pb2, plan_pb2

from .emit import emit_plan
from .graph import build_graph
from .kinds import check_kinds
from .parse import parse_job_text, read_text
from .pipeline import run_passes
from .source import Source
from .values import check_values


def compile_file(path: str) -> plan_pb2.PlanProto:
    """Compile the job file at `path` into a plan (raises SingaError on bad input)."""
    text = read_text(path)
    return compile_job(parse_job_text(text, path), Source(path, text))


def compile_job(job: job_pb2.JobProto, source: Source) -> plan_pb2.PlanProto:
    """Compile a parsed job. The train net has nworkers_per_group partitions; the others one."""
    check_values(job, source)
    check_kinds(job, source)  # user kinds a loaded plugin declares; the parser checked the enum values
    graphs = {}
    for phase in phases(job):
        n = job.cluster.nworkers_per_group if phase == "train" else 1
        graphs[phase] = run_passes(build_graph(job, phase, source, n))
    return emit_plan(job, source.path, graphs)


def phases(job: job_pb2.JobProto) -> list[str]:
    """The phases the job runs: train always; test and validation when they have steps."""
    out = ["train"]
    if job.validate_steps > 0:
        out.append("validation")
    if job.test_steps > 0:
        out.append("test")
    return out
