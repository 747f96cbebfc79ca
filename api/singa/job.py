"""A job built in Python: the same `JobProto` a job file parses into, field for field, so the text file
and this API are two faces of one schema, compiled by the same code path as `singac compile`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from google.protobuf import text_format
from singa_proto import job_pb2, plan_pb2
from singa_spec.plans import write_plan
from singa_spec.plugins import load_plugins
from singac import compile_job
from singac.parse import check_job, parse_job_text, read_text
from singac.source import Source

from .fields import fill


def param(name: str, **fields: Any) -> dict[str, Any]:
    """A `param { name: ... }` block for a layer's `param=[...]` (ParamProto's fields as keywords)."""
    return {"name": name, **fields}


class Job:
    """A job: JobProto's fields as keywords (`Job(name="mlp", train_steps=600, updater={...})`), and one
    `layer(...)` call per `layer { }` block of the neuralnet, in the file's order."""

    _origin: Source | None = None  # the file (or text) it was parsed from

    def __init__(self, name: str, **fields: Any) -> None:
        self.proto = fill(job_pb2.JobProto(), {"name": name, **fields}, "job")

    @classmethod
    def from_proto(cls, proto: job_pb2.JobProto) -> Job:
        """Wrap a JobProto (a copy of it)."""
        job = cls.__new__(cls)
        job.proto = job_pb2.JobProto()
        job.proto.CopyFrom(proto)
        return job

    @classmethod
    def from_file(cls, path: str | Path) -> Job:
        """Parse a job file exactly as `singac compile` does (its errors, and compile's, name the file
        and line)."""
        return cls.from_text(read_text(str(path)), str(path))

    @classmethod
    def from_text(cls, text: str, source: str = "<text>") -> Job:
        """Parse job text, as a job file's contents; `source` names it in errors, with their lines.
        Installed plugins (entry points) load first, as for `singac compile`: their extensions parse."""
        load_plugins()
        job = cls.from_proto(parse_job_text(text, source))
        job._origin = Source(source, text)
        return job

    def layer(self, name: str, type: str | int | None = None, **fields: Any) -> Job:
        """Add a layer: LayerProto's fields as keywords (`srclayers="fc1"`, `innerproduct_conf={...}`,
        `param=[param("w1", init={...})]`, `exclude="kTest"`); returns the job, to chain calls."""
        conf = {"name": name, **({} if type is None else {"type": type}), **fields}
        layer = fill(job_pb2.LayerProto(), conf, f"layer '{name}'")  # whole, or not added at all
        self.proto.neuralnet.layer.append(layer)
        return self

    def to_text(self) -> str:
        """The job as a job file's text (protobuf text format)."""
        return text_format.MessageToString(self.proto)

    @property
    def source(self) -> str:
        """How errors name this job: its file (or text's name), else its name."""
        return self._origin.path if self._origin is not None else f"job '{self.proto.name}'"

    def compile(self, plan_path: str | Path | None = None) -> plan_pb2.PlanProto:
        """Check, partition and place the job as `singac compile` does; write the plan if given a path.
        A job parsed from text has its errors point at the text's lines (of layers and fields the text
        declares)."""
        load_plugins()  # installed plugins' kinds, as `singac compile` knows them
        job = job_pb2.JobProto()
        job.CopyFrom(self.proto)
        check_job(job, self.source)
        plan = compile_job(job, self._origin or Source(self.source))
        if plan_path is not None:
            write_plan(plan, plan_path)
        return plan

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and self.proto == other.proto

    __hash__ = None  # type: ignore[assignment]  # mutable, as the proto it holds

    def __repr__(self) -> str:
        return f"Job({self.proto.name!r}, {len(self.proto.neuralnet.layer)} layers)"
