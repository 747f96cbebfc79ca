"""Parse errors carry hints: the field a typo meant, in every message type at every depth, and the block
a missing `}` left open."""
from __future__ import annotations

import re

import pytest
from google.protobuf.descriptor import Descriptor
from singa_proto import job_pb2
from singac.errors import SingaError
from singac.parse import parse_job_text

from . import jobs


def paths_to_types() -> dict[str, list[str]]:
    """Each message type reachable from the job -> the field names that lead to it (shortest)."""
    out: dict[str, list[str]] = {"singa.JobProto": []}
    todo: list[Descriptor] = [job_pb2.JobProto.DESCRIPTOR]
    while todo:
        desc = todo.pop(0)
        for f in desc.fields:
            sub = f.message_type
            if sub is not None and sub.full_name not in out:
                out[sub.full_name] = [*out[desc.full_name], f.name]
                todo.append(sub)
    return out


PATHS = paths_to_types()
FIELDS = [(t, f.name) for t in sorted(PATHS) for f in job_pb2.DESCRIPTOR.pool.FindMessageTypeByName(t).fields]


def test_every_message_type_is_reached() -> None:
    assert {"singa.ParamGenProto", "singa.StepProto", "singa.ClusterProto", "singa.AdamProto"} <= set(PATHS)


@pytest.mark.parametrize(("type_name", "field"), FIELDS, ids=[f"{t[6:]}.{f}" for t, f in FIELDS])
def test_a_misspelled_field_names_the_field_it_meant(type_name: str, field: str) -> None:
    path = PATHS[type_name]
    text = "".join(f"{p} {{\n" for p in path) + f"{field}x: 1\n" + "}\n" * len(path)
    with pytest.raises(SingaError) as e:
        parse_job_text(text, "job.pbtxt")
    line = len(path) + 1
    assert re.search(rf"^job\.pbtxt:{line}:\d+: .*no field named \"{field}x\"; did you mean .*`{field}`",
                     str(e.value)), str(e.value)


@pytest.mark.parametrize(("drop", "block", "outer"), [
    ('} param { name: "b_fc1"', "param", "layer"),     # a param block left open before the next param
    ("} }  }\n  layer { name: \"tanh\"", "layer", "neuralnet"),  # a layer left open before the next
    ("} }\ncluster", "updater", "the job"),  # a learning_rate left open: its `}` closes it, not updater
])
def test_a_missing_brace_names_the_block_left_open(drop: str, block: str, outer: str) -> None:
    text = jobs.mlp(2, 0)
    assert drop in text
    broken = text.replace(drop, drop.replace("}", "", 1), 1)
    opened = broken.count("\n", 0, _block_start(broken, drop.replace("}", "", 1), block)) + 1
    with pytest.raises(SingaError) as e:
        parse_job_text(broken, "job.pbtxt")
    assert re.search(rf"a `}}` is probably missing: the `{block}` block opened at line {opened} is still "
                     rf"open, and `\w+` belongs to `?{outer}`?", str(e.value)), str(e.value)


def _block_start(text: str, after_drop: str, block: str) -> int:
    """Where the block that lost its `}` begins: the last `block {` before the place of the drop."""
    return text.rindex(f"{block} {{", 0, text.index(after_drop))


def test_an_unknown_field_with_no_close_name_gets_no_guess() -> None:
    with pytest.raises(SingaError) as e:
        parse_job_text('name: "x"\nzzzzzz: 1\n', "job.pbtxt")
    assert str(e.value) == 'job.pbtxt:2:1: Message type "singa.JobProto" has no field named "zzzzzz".'


def test_a_field_after_an_early_brace_names_the_block_closed_too_soon() -> None:
    text = jobs.mlp(2, 0).replace("base_lr: 0.1 }", "} base_lr: 0.1", 1)
    with pytest.raises(SingaError) as e:
        parse_job_text(text, "job.pbtxt")
    assert str(e.value).endswith("`base_lr` belongs to the `learning_rate` block closed at line 6: did that "
                                 "`}` come too early?"), str(e.value)
