"""The plan as a whole: placement, param slicing, determinism, `singac show`, the examples."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import text_format
from singa_proto import job_pb2, plan_pb2
from singa_spec.plans import content_hash
from singac import compile_file, read_plan
from singac.cli import main

from . import jobs
from .conftest import compile_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*/*.pbtxt")
                  if p.parent.name != "plugins")  # they need their plugin: tests/plugins compiles them
FRAMEWORKS = {  # reference §4: the four frameworks, written in cluster {} alone
    "Sandblaster": ("nworkers_per_group: 3 nservers_per_group: 2 server_worker_separate: true", 3, 5),
    "AllReduce": ("nworkers_per_group: 3 nservers_per_group: 3", 3, 3),
    "Downpour": ("nworker_groups: 2 nworkers_per_group: 2 nservers_per_group: 2 server_worker_separate: true",
                 4, 6),
    "Hogwild": ("nworker_groups: 3 nserver_groups: 3", 3, 3),
}


def with_cluster(fields: str) -> str:
    return jobs.mlp(1, 0).replace("nworkers_per_group: 1", fields)


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
def test_frameworks_are_recognised_and_placed(name: str) -> None:
    fields, nworkers, nprocs = FRAMEWORKS[name]
    plan = compile_text(with_cluster(fields))
    assert plan.topology.framework == name
    assert plan.topology.nprocs == nprocs
    assert [r.rank for r in plan.roles] == list(range(nprocs))
    workers = [(w.group, w.id) for r in plan.roles for w in r.workers]
    assert len(workers) == len(set(workers)) == nworkers


def test_sandblaster_puts_servers_after_workers_and_allreduce_beside_them() -> None:
    sb = compile_text(with_cluster(FRAMEWORKS["Sandblaster"][0]))
    assert [(len(r.workers), len(r.servers)) for r in sb.roles] == [(1, 0)] * 3 + [(0, 1)] * 2
    ar = compile_text(with_cluster(FRAMEWORKS["AllReduce"][0]))
    assert [(len(r.workers), len(r.servers)) for r in ar.roles] == [(1, 1)] * 3


def test_in_process_workers_share_a_process() -> None:
    plan = compile_text(with_cluster("nworkers_per_group: 2 nworkers_per_procs: 2"))
    assert plan.topology.nprocs == 1
    assert [(w.group, w.id) for w in plan.roles[0].workers] == [(0, 0), (0, 1)]
    plan = compile_text(with_cluster("nworker_groups: 2 nworkers_per_procs: 2"))
    assert [(w.group, w.id) for w in plan.roles[0].workers] == [(0, 0), (1, 0)]
    assert plan.topology.framework == "Downpour"


@pytest.mark.parametrize("groups,servers", [(1, 1), (1, 3), (2, 2), (2, 4), (3, 2)])
def test_param_slices_cover_every_owned_param_and_balance_servers(groups: int, servers: int) -> None:
    fields = f"nworker_groups: {groups * 2} nserver_groups: {groups} nservers_per_group: {servers}"
    plan = compile_text(jobs.autoencoder(1, 0).replace("nworkers_per_group: 1", fields))
    load = [0] * servers
    for p in plan.params:
        if p.share_from:
            assert not p.slices, "shared params live with their owner"
            continue
        assert sum(s.size for s in p.slices) == math.prod(p.shape)
        assert [s.offset for s in p.slices] == [sum(s.size for s in p.slices[:i]) for i in range(len(p.slices))]
        for s in p.slices:
            load[s.server] += s.size
            assert 0 <= s.master_group < groups
    total = sum(load)
    assert all(x > 0 for x in load)
    assert max(load) <= total / servers * 1.5 + max(math.prod(p.shape) for p in plan.params) / 10


def test_shares_point_at_their_owner_and_blocks_tile_the_param() -> None:
    plan = compile_text(jobs.autoencoder(2, 1))
    owners = {p.name: p.share_from for p in plan.params}
    assert owners["w_dec1"] == "w_enc1" and owners["w_dec2"] == "w_enc2"
    uses: dict[str, list[tuple[int, int]]] = {}
    for n in plan.graphs[0].nodes:
        for ref in n.params:
            assert not owners[ref.param], "a node must use the owner's values"
            if ref.HasField("block"):
                uses.setdefault(f"{n.origin}/{ref.param}/{ref.block.axis}", []).append((ref.block.begin, ref.block.end))
    assert uses["dec1/w_enc1/1"] == [(0, 18), (18, 36)]  # a transposed weight is cut by columns
    assert uses["enc1/w_enc1/0"] == [(0, 6), (6, 12)]


def test_compile_is_deterministic_and_show_prints_text(tmp_path: Path, capsys) -> None:
    job = tmp_path / "job.pbtxt"
    job.write_text(jobs.convnet(2, 1))
    outs = []
    for i in range(2):
        assert main(["compile", str(job), "-o", str(tmp_path / f"p{i}")]) == 0
        outs.append((tmp_path / f"p{i}").read_bytes())
    assert outs[0] == outs[1]
    capsys.readouterr()
    assert main(["show", str(tmp_path / "p0")]) == 0
    shown = text_format.Parse(capsys.readouterr().out, plan_pb2.PlanProto())
    assert shown == read_plan(str(tmp_path / "p0"))
    assert shown.content_hash == content_hash(shown)
    assert {n.worker for n in shown.graphs[0].nodes} == {0, 1}


def test_help_commands() -> None:
    exe = [str(Path(sys.executable).parent / "singac")]
    for args in (["--help"], ["compile", "--help"], ["show", "--help"], ["viz", "--help"]):
        r = subprocess.run(exe + args, capture_output=True, text=True, check=False, timeout=60)
        assert r.returncode == 0 and "usage: singac" in r.stdout, r.stderr


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_examples_compile(path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    plan = compile_file(str(path.relative_to(ROOT)))
    assert plan.graphs[0].phase == job_pb2.kTrain
    assert plan.params and plan.content_hash == content_hash(plan)


@pytest.mark.parametrize("workers,dim", [(2, 0), (4, 0), (2, 1)])
def test_lenet_and_mlp_partition(workers: int, dim: int, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    for name in ("mnist/job.pbtxt", "mnist/lenet.pbtxt"):
        text = (ROOT / "examples" / name).read_text().replace(
            "cluster {", f"cluster {{\n  nworkers_per_group: {workers}").replace(
            "neuralnet {", f"neuralnet {{\n  partition_dim: {dim}")
        plan = compile_text(text, name)
        assert {n.worker for n in plan.graphs[0].nodes} == set(range(workers))
