"""Bad input: every malformed job or plan gives exit code 2 and one line on stderr naming the file."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from singac.cli import main

from . import jobs

BAD = Path(__file__).parent / "bad"
CORPUS = sorted(BAD.glob("*.pbtxt"))


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def expect_one_line_error(code: int, err: str, path: Path, pattern: str) -> None:
    assert code == 2, err
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert lines[0].startswith("singac: error: "), lines[0]
    assert path.name in lines[0], lines[0]
    assert re.search(pattern, lines[0]), f"{pattern!r} not in {lines[0]!r}"
    assert "Traceback" not in err


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_malformed_job(path: Path, tmp_path: Path, capsys) -> None:
    job = tmp_path / "job.pbtxt"
    shutil.copy(path, job)
    pattern = path.read_text().splitlines()[0].removeprefix("# expect: ")
    code, _, err = run_cli(["compile", str(job), "-o", str(tmp_path / "plan.bin")], capsys)
    expect_one_line_error(code, err, job, pattern)
    assert not (tmp_path / "plan.bin").exists()
    assert re.search(r"job\.pbtxt:\d+|layer '|field|`", err), "the error names no line, layer or field"


GENERATED = {
    "empty": (b"", "is empty"),
    "blank": (b"\n   \n\t\n", "is empty"),
    "binary": (bytes(range(256)) * 4, "binary data"),
    "latin1": ('name: "caf\xe9"'.encode("latin-1"), "not a UTF-8"),
    "utf16": ('name: "x"\n'.encode("utf-16"), "UTF-16 text; save it as UTF-8"),
    "truncated": (jobs.mlp(2, 0).encode()[:300], r"job\.pbtxt:\d+:\d+"),
}


@pytest.mark.parametrize("case", sorted(GENERATED))
def test_unreadable_job(case: str, tmp_path: Path, capsys) -> None:
    data, pattern = GENERATED[case]
    job = tmp_path / "job.pbtxt"
    job.write_bytes(data)
    code, _, err = run_cli(["compile", str(job), "-o", str(tmp_path / "plan.bin")], capsys)
    expect_one_line_error(code, err, job, pattern)


def test_a_byte_order_mark_before_the_job_is_not_part_of_it(tmp_path: Path, capsys) -> None:
    job = tmp_path / "job.pbtxt"
    job.write_bytes(b"\xef\xbb\xbf" + jobs.mlp(2, 0).encode())  # as editors on Windows save UTF-8
    code, _, err = run_cli(["compile", str(job), "-o", str(tmp_path / "plan.bin")], capsys)
    assert code == 0, err


def test_missing_job_file_and_directory(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["compile", str(tmp_path / "job.pbtxt"), "-o", str(tmp_path / "p")], capsys)
    expect_one_line_error(code, err, tmp_path / "job.pbtxt", "cannot read job file")
    (tmp_path / "dir.pbtxt").mkdir()
    code, _, err = run_cli(["compile", str(tmp_path / "dir.pbtxt"), "-o", str(tmp_path / "p")], capsys)
    expect_one_line_error(code, err, tmp_path / "dir.pbtxt", "cannot read job file")


def test_unwritable_plan(tmp_path: Path, capsys) -> None:
    job = tmp_path / "job.pbtxt"
    job.write_text(jobs.mlp(2, 0))
    out = tmp_path / "missing-folder" / "plan.bin"
    code, _, err = run_cli(["compile", str(job), "-o", str(out)], capsys)
    expect_one_line_error(code, err, out, "cannot write plan")


@pytest.fixture()
def plan_file(tmp_path: Path, capsys) -> Path:
    job = tmp_path / "job.pbtxt"
    job.write_text(jobs.mlp(2, 1))
    plan = tmp_path / "plan.bin"
    assert run_cli(["compile", str(job), "-o", str(plan)], capsys)[0] == 0
    return plan


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "job-file"])
def test_show_rejects_a_damaged_plan(damage: str, plan_file: Path, capsys) -> None:
    data = plan_file.read_bytes()
    damaged = {
        "truncate": data[: len(data) // 2],
        "flip": data[:200] + bytes([data[200] ^ 0x01]) + data[201:],
        "garbage": b"\xff" * 100,
        "empty": b"",
        "job-file": jobs.mlp(2, 0).encode(),
    }[damage]
    plan_file.write_bytes(damaged)
    code, _, err = run_cli(["show", str(plan_file)], capsys)
    expect_one_line_error(code, err, plan_file, "not a plan file|hash mismatch|plan format")


def test_console_script_exit_code_and_single_line(tmp_path: Path) -> None:
    job = tmp_path / "job.pbtxt"
    shutil.copy(BAD / "cycle.pbtxt", job)
    singac = str(Path(sys.executable).parent / "singac")
    r = subprocess.run([singac, "compile", str(job), "-o", str(tmp_path / "p")],
                       check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "cycle through layers" in r.stderr
    r = subprocess.run([singac, "compile"], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "usage" in r.stderr


def test_shard_that_disagrees_with_the_conf_shape(tmp_path: Path, capsys) -> None:
    from singa_proto import common_pb2
    record = common_pb2.Record()
    record.image.shape.extend([5, 5])
    record.image.pixel = bytes(25)
    value, key = record.SerializeToString(), b"00000"
    shard = tmp_path / "shard"
    shard.mkdir()
    size = len(key).to_bytes(8, "little") + key + len(value).to_bytes(8, "little") + value
    (shard / "shard.dat").write_bytes(size)
    job = tmp_path / "job.pbtxt"
    job.write_text(jobs.mlp(2, 0).replace('path: "absent"', f'path: "{shard}"'))
    code, _, err = run_cli(["compile", str(job), "-o", str(tmp_path / "p")], capsys)
    expect_one_line_error(code, err, job, r"layer 'data': shard .* holds records of shape \[5, 5\], but the "
                          r"conf says `shape` \[6, 6\]")
    job.write_text(jobs.mlp(2, 0).replace('path: "absent"', f'path: "{shard}"').replace(" shape: 6 shape: 6", ""))
    code, _, err = run_cli(["compile", str(job), "-o", str(tmp_path / "p")], capsys)
    assert code == 0, err


@pytest.mark.parametrize("version", [None, "0"])
def test_show_rejects_another_plan_format(version, plan_file: Path, capsys) -> None:
    from singa_proto import plan_pb2
    from singa_spec.plans import content_hash
    plan = plan_pb2.PlanProto.FromString(plan_file.read_bytes())
    if version is None:
        plan.ClearField("format_version")
    else:
        plan.format_version = version
    plan.content_hash = content_hash(plan)
    plan_file.write_bytes(plan.SerializeToString())
    code, _, err = run_cli(["show", str(plan_file)], capsys)
    expect_one_line_error(code, err, plan_file, "plan format")


def test_an_internal_error_names_its_pass() -> None:
    from singac import pipeline

    from .test_passes import graph_of

    def broken(g):
        raise KeyError("oops")
    with pytest.raises(RuntimeError, match="pass broken: KeyError"):
        pipeline.run_passes(graph_of(jobs.mlp(2, 0)), (pipeline.PASSES[0], broken))


def test_low_above_high_is_refused_only_where_an_init_draws_from_them(tmp_path: Path) -> None:
    # kGaussian and kConstant never read low and high: a job that leaves them inverted is fine
    text = jobs.mlp(2, 0).replace('init { type: kUniform low: -0.1 high: 0.1 }',
                                  'init { type: kGaussian std: 0.1 low: 1 high: -1 }')
    assert "low: 1 high: -1" in text
    job = tmp_path / "job.pbtxt"
    job.write_text(text)
    assert main(["compile", str(job), "-o", str(tmp_path / "plan.bin")]) == 0
