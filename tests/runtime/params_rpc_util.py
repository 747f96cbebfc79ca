"""Params over gRPC for the tests: server processes (params_peer.py) for a plan's server ranks, worker
group 0 driven over a GrpcParamClient in threads (GrpcSplit) or as worker processes (this file run as
a script: `params_rpc_util.py PLAN BOOK_JSON WORKER STEPS`)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from singa_proto import plan_pb2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # as a script: `tests.runtime` importable

from singa_spec.plans import read_plan, seal, write_plan
from singart.distributed.params_rpc import GrpcParamClient, hosted_servers

from tests.runtime.params_driver import Split

TOKEN = "params-test-token-0123456789"
ENV = {**os.environ, "SINGA_JOB_TOKEN": TOKEN}
Book = dict[tuple[int, int], str]


def grpc_split(plan: plan_pb2.PlanProto, procs: list[list[int]], book: Book, **client: object) -> Split:
    """Split with its shards in other processes, reached through a GrpcParamClient."""
    return Split(plan, procs, GrpcParamClient(plan, book, TOKEN, **client))  # type: ignore[arg-type]


def save(plan: plan_pb2.PlanProto, tmp_path: Path) -> Path:
    path = tmp_path / "plan.bin"
    write_plan(seal(plan), path)
    return path


@contextmanager
def servers(plan_path: Path) -> Iterator[tuple[Book, dict[str, dict[str, int]]]]:
    """A process per server rank of the plan; yields the address book and, once they stopped (after
    the block), the updates each slice got ("SERVER_GROUP:PARAM/SLICE" -> {"WORKER_GROUP": n})."""
    plan = read_plan(plan_path)
    ranks = [r.rank for r in plan.roles if r.servers]
    counts: dict[str, dict[str, int]] = {}
    with ExitStack() as stack:
        procs = [stack.enter_context(subprocess.Popen(
            [sys.executable, str(HERE / "params_peer.py"), str(plan_path), str(r)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=ENV)) for r in ranks]
        for p in procs:
            stack.callback(p.kill)
        book: Book = {}
        for r, p in zip(ranks, procs):
            assert p.stdout is not None and p.stdin is not None
            line = p.stdout.readline()
            assert line.startswith("listening on "), line
            book.update({ex: line.split()[-1] for ex in hosted_servers(plan, r)})
        for p in procs:
            p.stdin.write(json.dumps({f"{g}/{s}": a for (g, s), a in book.items()}) + "\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]
        yield book, counts
        for p in procs:
            p.stdin.close()  # type: ignore[union-attr]
            counts.update(json.loads(p.stdout.readline()))  # type: ignore[union-attr]
            assert p.wait(timeout=30) == 0


def workers(plan_path: Path, book: Book, ids: list[int], steps: int) -> list[subprocess.Popen[str]]:
    """A worker process per worker id, each training `steps` steps of worker group 0 over gRPC."""
    text = json.dumps({f"{g}/{s}": a for (g, s), a in book.items()})
    return [subprocess.Popen([sys.executable, __file__, str(plan_path), text, str(w), str(steps)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
            for w in ids]


def main(plan_path: str, book_text: str, worker: int, steps: int) -> None:
    book = {tuple(map(int, k.split("/"))): a for k, a in json.loads(book_text).items()}
    grpc_split(read_plan(plan_path), [[worker]], book).run(steps)  # type: ignore[arg-type]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
