"""Building a job in Python gives the JobProto the job file parses into, and the plan singac compiles;
mistakes are one-line errors naming the field."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import singa
import singac
from google.protobuf import text_format
from singa_proto import job_pb2

from .mlp import JOB_FILE, example

MINIMAL = {"train_steps": 5, "train_one_batch": {"alg": "kBP"}, "updater": {"type": "kSGD"},
           "cluster": {"workspace": "ws"}}


def test_the_mnist_mlp_built_in_python_is_the_job_file() -> None:
    parsed = job_pb2.JobProto()
    text_format.Parse(JOB_FILE.read_text(), parsed)
    built = example().mlp_job()
    assert built.proto == parsed
    assert len(built.proto.neuralnet.layer) == 16
    assert built == singa.Job.from_file(JOB_FILE)


def test_it_compiles_to_the_plan_singac_compile_writes() -> None:
    from_python = example().mlp_job().compile()
    from_file = singac.compile_file(str(JOB_FILE))
    assert from_python.source == "job 'mlp'" and from_file.source == str(JOB_FILE)
    for plan in (from_python, from_file):
        plan.ClearField("source")  # where the job came from, and the hash over it, differ
        plan.ClearField("content_hash")
    assert from_python == from_file
    assert len(from_python.graphs) == 2 and len(from_python.params) == 12


def test_a_job_from_a_file_compiles_as_singac_compile_and_its_errors_name_lines(tmp_path: Path) -> None:
    assert singa.Job.from_file(JOB_FILE).compile() == singac.compile_file(str(JOB_FILE))  # source, hash too
    bad = tmp_path / "job.pbtxt"
    bad.write_text(JOB_FILE.read_text().replace("num_output: 2500", "num_output: 0"))
    with pytest.raises(singa.SingaError) as cli:
        singac.compile_file(str(bad))
    with pytest.raises(singa.SingaError) as api:
        singa.Job.from_file(bad).compile()
    assert str(api.value) == str(cli.value) and re.match(rf"{re.escape(str(bad))}:\d+: ", str(api.value)), api.value


def test_text_and_back() -> None:
    job = example().mlp_job()
    again = singa.Job.from_text(job.to_text())
    assert again == job and again is not job
    assert "num_output: 2500" in job.to_text()


def test_values_by_kind() -> None:
    job = singa.Job("j", **MINIMAL).layer("data", "kShardData", exclude=["kTest", "kVal"],
                                        sharddata_conf={"path": "p", "shape": [28, 28]})
    job.layer("fc", 5, srclayers="data", partition_dim=1, param=[singa.param("w", lr_scale=2)])
    data, fc = job.proto.neuralnet.layer
    assert list(data.exclude) == [job_pb2.kTest, job_pb2.kVal] and list(data.sharddata_conf.shape) == [28, 28]
    assert fc.type == 5 and list(fc.srclayers) == ["data"] and fc.param[0].lr_scale == 2.0
    empty = singa.Job("e", updater={})
    assert empty.proto.HasField("updater") and not empty.proto.HasField("cluster")


@pytest.mark.parametrize("build, message", [
    (lambda: singa.Job("j", train_stpes=3),
     "job: JobProto has no field `train_stpes`; did you mean `train_steps`?"),
    (lambda: singa.Job("j").layer("fc", "kInnerProdct"),
     "layer 'fc'.type: LayerType has no value 'kInnerProdct'; did you mean `kInnerProduct`?"),
    (lambda: singa.Job("j").layer("fc", param=[singa.param("w"), singa.param("b", init={"typ": 1})]),
     "layer 'fc'.param[1].init: ParamGenProto has no field `typ`; did you mean `type`?"),
    (lambda: singa.Job("j").layer("fc", innerproduct_conf={"num_output": "ten"}),
     "layer 'fc'.innerproduct_conf.num_output: expected a whole number, got 'ten'"),
    (lambda: singa.Job("j", updater="kSGD"),
     "job.updater: expected a dict of UpdaterProto's fields, got 'kSGD'"),
    (lambda: singa.Job("j", seed=-1), "job.seed: "),
    (lambda: singa.Job("j", **{"[my.foo_conf]": {"x": 1}}),
     "job: no extension `my.foo_conf` of JobProto is loaded"),
])
def test_mistakes_name_the_field(build, message: str) -> None:
    with pytest.raises(singa.SingaError) as err:
        build()
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_a_bad_layer_is_not_added() -> None:
    job = singa.Job("j")
    with pytest.raises(singa.SingaError):
        job.layer("fc", "kInnerProduct", innerproduct_conf={"num_outpt": 3})
    assert len(job.proto.neuralnet.layer) == 0


def test_compile_errors_name_the_job_and_layer() -> None:
    job = singa.Job("j", **MINIMAL).layer("fc", "kInnerProduct", srclayers="nowhere",
                                        innerproduct_conf={"num_output": 3})
    with pytest.raises(singa.SingaError, match=r"^job 'j'(:\d+)?: .*nowhere"):
        job.compile()
    with pytest.raises(singa.SingaError, match=r"^job 'j': missing required field `neuralnet`"):
        singa.Job("j", **MINIMAL).compile()


def test_from_file_errors_name_the_line(tmp_path) -> None:
    path = tmp_path / "job.pbtxt"
    path.write_text('name: "j"\ntrain_stpes: 3\n')
    with pytest.raises(singa.SingaError, match=r"job.pbtxt:2:.*did you mean `train_steps`"):
        singa.Job.from_file(path)
