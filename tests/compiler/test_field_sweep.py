"""Every numeric field of the example jobs, set to zero, a negative or an absurd value, compiles or gives
a one-line error (exit 2): never an internal error, a traceback or a hang; and a value its rule refuses
(singac.values.RULES) is refused, naming the field."""
from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import descriptor, text_format
from google.protobuf.message import Message
from singa_proto import job_pb2
from singac.cli import main
from singac.values import RULES

EXAMPLES = sorted(p for p in (Path(__file__).parents[2] / "examples").glob("*/*.pbtxt")
                  if p.parent.name != "plugins")  # they need their plugin: tests/plugins compiles them
JOBS = [*EXAMPLES, Path(__file__).parent / "every_conf.pbtxt"]
FD = descriptor.FieldDescriptor
INTS = {FD.CPPTYPE_INT32: (0, -1, 2**31 - 1), FD.CPPTYPE_INT64: (0, -1, 2**63 - 1),
        FD.CPPTYPE_UINT32: (0, 2**32 - 1), FD.CPPTYPE_UINT64: (0, 2**64 - 1)}
FLOATS = (0.0, -1.0, math.nan, math.inf, 1e30)
Path_ = tuple[tuple[str, int], ...]  # (field, index or -1) steps from the job to a numeric field


def numeric_fields(msg: Message, at: Path_ = ()) -> Iterator[tuple[Path_, FD]]:
    """Every numeric field (set or not) of every message the job sets, and each element of a repeated
    numeric field it sets."""
    for f in msg.DESCRIPTOR.fields:
        if f.message_type is not None:
            if f.is_repeated:
                for i, sub in enumerate(getattr(msg, f.name)):
                    yield from numeric_fields(sub, (*at, (f.name, i)))
            elif msg.HasField(f.name):
                yield from numeric_fields(getattr(msg, f.name), (*at, (f.name, -1)))
        elif f.cpp_type in INTS or f.cpp_type in (FD.CPPTYPE_FLOAT, FD.CPPTYPE_DOUBLE):
            if not f.is_repeated:
                yield (*at, (f.name, -1)), f
            else:
                for i in range(len(getattr(msg, f.name))):
                    yield (*at, (f.name, i)), f


def cases() -> list[tuple[Path, Path_, object]]:
    """(job, field path, value), each (message type, field) taken from the first job that has it, so
    that the sweep stays a few hundred compiles."""
    seen: set[tuple[str, str]] = set()
    out = []
    for example in JOBS:
        job = text_format.Parse(example.read_text(), job_pb2.JobProto())
        for path, f in numeric_fields(job):
            key = (f.containing_type.full_name, f.name)
            if key in seen:
                continue
            seen.add(key)
            values = INTS.get(f.cpp_type, FLOATS)
            out.extend((example, path, v) for v in values)
    return out


def with_value(job: job_pb2.JobProto, path: Path_, value: object) -> job_pb2.JobProto:
    out = job_pb2.JobProto()
    out.CopyFrom(job)
    msg: Message = out
    for name, index in path[:-1]:
        msg = getattr(msg, name)[index] if index >= 0 else getattr(msg, name)
    name, index = path[-1]
    if index >= 0:
        getattr(msg, name)[index] = value
    else:
        setattr(msg, name, value)
    return out


def refused(job: job_pb2.JobProto, path: Path_, value: object) -> bool:
    """Whether the value rule of the field at `path` refuses `value` (as the field stores it)."""
    msg: Message = job
    for name, index in path[:-1]:
        msg = getattr(msg, name)[index] if index >= 0 else getattr(msg, name)
    test, _ = RULES.get(msg.DESCRIPTOR.name, {}).get(path[-1][0], (None, ""))
    stored = with_value(job, path, value)
    for name, index in path[:-1]:
        stored = getattr(stored, name)[index] if index >= 0 else getattr(stored, name)
    name, index = path[-1]
    return test is not None and not test(getattr(stored, name)[index] if index >= 0 else getattr(stored, name))


def case_id(case: tuple[Path, Path_, object]) -> str:
    example, path, value = case
    return f"{example.parent.name}/{example.stem}:{'.'.join(n for n, _ in path)}={value}"


CASES = cases()


def test_the_sweep_covers_the_cluster_and_layer_fields() -> None:
    names = {case_id(c).split(":")[1] for c in CASES}
    for field in ("cluster.nworkers_per_group", "cluster.nserver_groups", "train_steps",
                  "neuralnet.layer.sharddata_conf.batchsize", "neuralnet.layer.convolution_conf.kernel",
                  "updater.learning_rate.base_lr", "neuralnet.layer.param.init.std",
                  "neuralnet.layer.rnn_conf.dim", "updater.adam_conf.beta1",
                  "updater.learning_rate.linear_conf.change_freq", "neuralnet.layer.concate_conf.concate_dim"):
        assert any(n.startswith(field + "=") for n in names), field


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_numeric_field_compiles_or_is_one_located_error(case, tmp_path: Path, capsys) -> None:
    example, path, value = case
    job = tmp_path / "job.pbtxt"
    base = text_format.Parse(example.read_text(), job_pb2.JobProto())
    job.write_text(text_format.MessageToString(with_value(base, path, value)))
    code = main(["compile", str(job), "-o", str(tmp_path / "plan.bin")])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    if refused(base, path, value):
        assert code == 2 and f"{path[-1][0]}`" in err, err or "compiled"
    if code == 2:
        lines = err.strip("\n").splitlines()
        assert len(lines) == 1 and lines[0].startswith("singac: error: ") and "job.pbtxt" in lines[0], err
