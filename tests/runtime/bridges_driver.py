"""A process of the cross-process bridge tests: trains a plan's train graph for some steps with params
held in this process, and saves each step's loss metrics and every gradient a node added.

    bridges_driver.py PLAN OUT STEPS              every worker of group 0 here, as threads (the reference)
    bridges_driver.py PLAN OUT STEPS RANK [STALL EDGE]  only the workers the plan's roles give RANK:
        prints `listening on HOST:PORT`, reads the address book (`RANK=HOST:PORT ...`) from stdin; with
        STALL, it prints `stalled` once it took step STALL's tensor of bridge EDGE (its source node)
        and then stops working (the test kills it there, mid-step)

A SingaError ends it with one line on stderr and exit code 2, as `singart run` does.
"""
from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np
from singa_proto import job_pb2, plan_pb2
from singa_spec.errors import SingaError
from singa_spec.plans import read_plan
from singart.distributed.bridges_rpc import Inbox, InboxServicer, Key, links_for
from singart.distributed.group import ProcessGroup
from singart.params.updaters import Updater
from singart.store import ParamStore, Updates, init_values
from singart.train import find_graph
from singart.transport import add_service, job_token, local_server
from singart.worker import WorkerGroup


class RecordingStore(ParamStore):
    """The store, keeping a copy of every gradient a node adds, by step, param and block."""

    seen: dict[str, np.ndarray]

    def add_grad(self, ref: plan_pb2.ParamRef, grad: np.ndarray, step: int) -> None:
        b = ref.block
        self.seen[f"{step}/{ref.param}/{b.axis}:{b.begin}-{b.end}"] = np.array(grad)
        super().add_grad(ref, grad, step)


class StallingInbox(Inbox):
    """An inbox whose process stops working once it took step `stall`'s tensor of bridge `edge`."""

    def __init__(self, stall: int, edge: str) -> None:
        super().__init__()
        self.stall, self.edge = stall, edge

    def take(self, key: Key, check: Any, every: float) -> Any:
        got = super().take(key, check, every)
        if key[0] == self.stall and key[1].endswith("/" + self.edge):
            print("stalled", flush=True)
            threading.Event().wait()
        return got


def group(plan: plan_pb2.PlanProto, graph: plan_pb2.PhaseGraph, store: ParamStore, argv: list[str]) -> Any:
    """The reference group, or this rank's share of it once the address book came."""
    if len(argv) < 4:
        return WorkerGroup(graph, store, plan.job.seed, train=True)
    rank = int(argv[3])
    inbox = StallingInbox(int(argv[4]), argv[5]) if len(argv) > 4 else Inbox()
    server, address = local_server(job_token())
    add_service(server, "Bridges", InboxServicer(inbox))
    server.start()
    print(f"listening on {address}", flush=True)
    book = {int(r): a for r, a in (item.split("=") for item in sys.stdin.readline().split())}
    links = links_for(rank, book, job_token())
    workers = ProcessGroup(plan, graph, store, plan.job.seed, True, rank, 0, links, inbox)
    workers.server = server  # type: ignore[attr-defined]  # a collected grpc server stops serving
    return workers


def main(argv: list[str]) -> None:
    plan = read_plan(argv[0])
    graph = find_graph(plan, job_pb2.kTrain)
    assert graph is not None
    store = RecordingStore(plan, init_values(plan), graph, Updates(plan, Updater(plan.job.updater)))
    store.seen = {}
    workers = group(plan, graph, store, argv)
    out: dict[str, np.ndarray] = {}
    for step in range(int(argv[2])):
        workers.run(step)
        for name, (s, c) in workers.metrics().items():
            out[f"metric/{step}/{name}"] = np.array([s, c], np.float64)
    workers.close()
    np.savez(argv[1], **out, **{f"grad/{k}": v for k, v in store.seen.items()})


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SingaError as err:
        print(f"bridges_driver: {err}", file=sys.stderr)
        sys.exit(2)
