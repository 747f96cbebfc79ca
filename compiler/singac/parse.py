"""Parse a job file (protobuf text format) into a checked `JobProto`."""
from __future__ import annotations

import re
from pathlib import Path

from google.protobuf import text_format
from singa_proto import job_pb2

from .errors import SingaError, at
from .hints import hint, shorten

REQUIRED_JOB_FIELDS = ("name", "neuralnet", "train_one_batch", "updater", "cluster", "train_steps")
_LINE_COL = re.compile(r"^(\d+):(\d+)\s*:\s*(.*)$", re.DOTALL)
_QUOTED_LINE = re.compile(r"^'.*?':\s*", re.DOTALL)


def read_text(path: str) -> str:
    """The job file's text; unreadable or non-UTF-8 files are one-line errors."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise SingaError(f"{path}: cannot read job file: {e.strerror or e}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SingaError(f"{path}: the job file is UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        raise SingaError(f"{path}: not a text job file (it holds binary data)")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # a byte order mark is no part of the text
    except UnicodeDecodeError as e:
        raise SingaError(f"{path}: not a UTF-8 text job file (bad byte at offset {e.start})") from None


def parse_job_text(text: str, source: str) -> job_pb2.JobProto:
    """Parse job text; errors carry `source:line:column`, as protobuf reports them."""
    if not text.strip():
        raise SingaError(f"{source}: the job file is empty")
    job = job_pb2.JobProto()
    try:
        text_format.Parse(text, job)
    except text_format.ParseError as e:
        raise _located(source, str(e), text) from None
    check_job(job, source, text)
    return job


def check_job(job: job_pb2.JobProto, source: str, text: str = "") -> None:
    """What parsing adds to a job however it was built (from text or in Python): the seed's
    `srclayer` folded into `srclayers`, and the required fields present (`text` gives errors lines)."""
    _merge_srclayer(job)
    _check_required(job, text, source)


def _located(source: str, message: str, text: str) -> SingaError:
    m = _LINE_COL.match(message.strip())
    if m:
        what = shorten(_QUOTED_LINE.sub("", m.group(3)))  # protobuf quotes the offending line first
        extra = hint(text, int(m.group(1)), int(m.group(2)), what)
        what = what.rstrip(".") + extra if extra else what
        return SingaError(f"{source}:{m.group(1)}:{m.group(2)}: {what}")
    return SingaError(f"{source}: {message}")


def _merge_srclayer(job: job_pb2.JobProto) -> None:
    """Fold the seed documents' `srclayer` spelling into `srclayers`, keeping order."""
    for layer in job.neuralnet.layer:
        if layer.srclayer:
            layer.srclayers.extend(layer.srclayer)
            del layer.srclayer[:]


def line_of(text: str, pattern: str) -> int | None:
    """The 1-based line of the first match of a regex in the job text, if any."""
    m = re.search(pattern, text, re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else None


def layer_line(text: str, name: str) -> int | None:
    """The line where a layer with this name is declared."""
    return line_of(text, r"name\s*:\s*[\"']" + re.escape(name) + r"[\"']")


def _check_required(job: job_pb2.JobProto, text: str, source: str) -> None:
    for field in REQUIRED_JOB_FIELDS:
        if not job.HasField(field):
            raise at(source, None, f"missing required field `{field}` in the job")
    if not job.cluster.HasField("workspace"):
        raise at(source, line_of(text, r"^\s*cluster\b"), "missing required field `cluster.workspace`")
    if not job.neuralnet.layer:
        raise at(source, line_of(text, r"^\s*neuralnet\b"), "the neuralnet has no layer")
    for i, layer in enumerate(job.neuralnet.layer):
        if not layer.name:
            raise at(source, None, f"layer #{i + 1} has no `name`")
