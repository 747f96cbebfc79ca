"""singart through its command lines: the example job with a seed, compiled, run, its test lines read."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from singa_proto import job_pb2, plan_pb2

from .curve import Curve

BIN = Path(sys.executable).parent
TEST_LINE = re.compile(r"^Test @ step (\d+): loss = ([0-9.eE+-]+|nan|inf), accuracy = ([0-9.eE+-]+)")


def job_text(path: Path, steps: int | None, seed: int) -> str:
    """The example's job text with `seed`; with `steps`, trained that many steps and tested at the start
    and end."""
    fields: list[tuple[str, int]] = [("seed", seed)]
    if steps is not None:
        fields += [("train_steps", steps), ("test_freq", steps)]
    text = path.read_text()
    for field, value in fields:
        text, n = re.subn(rf"^{field}: \d+$", f"{field}: {value}", text, flags=re.MULTILINE)
        if n != 1:
            raise SystemExit(f"{path}: expected one top-level `{field}:` line, found {n}")
    return text


def run_cli(args: list[str], cwd: Path) -> str:
    """Run a console script of this installation in `cwd`; its stdout (stderr on failure)."""
    done = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True,
                          check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def train_singart(work: Path, job: str) -> tuple[plan_pb2.PlanProto, Curve, float]:
    """Compile and run `job` in `work` (which holds the shards); the plan, test curve and seconds."""
    (work / "job.pbtxt").write_text(job)
    run_cli(["singac", "compile", "job.pbtxt", "-o", "job.plan"], work)
    start = time.perf_counter()
    out = run_cli(["singart", "run", "job.plan"], work)
    seconds = time.perf_counter() - start
    curve = {int(m[1]): (float(m[2]), float(m[3])) for m in map(TEST_LINE.match, out.splitlines()) if m}
    plan = plan_pb2.PlanProto()
    plan.ParseFromString((work / "job.plan").read_bytes())
    return plan, curve, seconds


def check_coverage(plan: plan_pb2.PlanProto, work: Path) -> None:
    """Each test must read every test digit exactly once: test_steps x batch = the test shard's size."""
    from singart.data.records import load_shard

    layer = next(la for la in plan.job.neuralnet.layer
                 if la.type == job_pb2.kShardData and job_pb2.kTrain in la.exclude)
    size = len(load_shard(str(work / layer.sharddata_conf.path)))
    if plan.job.test_steps * layer.sharddata_conf.batchsize != size:
        raise SystemExit(f"{plan.job.name}: test_steps {plan.job.test_steps} x batchsize "
                         f"{layer.sharddata_conf.batchsize} does not cover the {size} test digits once")
