"""A process of a coordination test: `coord_peer.py PLAN RANK MODE [COORDINATOR]`. Rank 0 (given no
COORDINATOR) hosts the coordinator on loopback and prints `coordinator on HOST:PORT` first; every rank
then registers and acts out MODE:

  book     print the address book as JSON, then finish
  wait     print `beating` once registered, then heartbeat until the job stops
  metrics  report train metrics of steps 1 and 2 (sums that depend on the rank), then finish
  barrier  arrive at barrier `b` (rank R after R seconds) twice, printing times, then finish

A stopped job prints `stopped: REASON` on stderr and exits 3; a refusal `error: MESSAGE`, exit 2.
Timeouts come from COORD_SILENCE_S and COORD_REGISTER_S; the token from SINGA_JOB_TOKEN."""
from __future__ import annotations

import json
import os
import sys
import time

from singa_spec.errors import SingaError
from singa_spec.plans import read_plan
from singart.distributed.coordinator import Coordinator, Stopped, serve
from singart.distributed.peer import Peer
from singart.transport import job_token

SILENCE_S = float(os.environ.get("COORD_SILENCE_S", "5"))
REGISTER_S = float(os.environ.get("COORD_REGISTER_S", "30"))


def sums(rank: int, step: int) -> tuple[dict[str, float], int]:
    """Metric sums of a rank's batches at a step, and how many batches."""
    return {"loss": 0.1 * (rank + 1) + step / 3, "accuracy": 0.7 + rank / 7}, 3 + 2 * rank


def on_metrics(phase: str, step: int, merged: dict[str, tuple[float, int]]) -> None:
    print("metrics", phase, step, json.dumps(merged), flush=True)


def act(peer: Peer, mode: str) -> None:
    book = peer.register(REGISTER_S)
    peer.start_heartbeats()
    if mode == "book":
        print("book", json.dumps(book.as_dict()), flush=True)
    elif mode == "wait":
        print("beating", flush=True)
        peer.stopped.wait(120)
        raise Stopped(peer.reason)
    elif mode == "metrics":
        for step in (1, 2):
            peer.report("train", step, *sums(peer.rank, step))
    elif mode == "barrier":
        for _ in range(2):
            time.sleep(peer.rank)
            print("arrive", time.time(), flush=True)
            peer.barrier("b")
            print("released", time.time(), flush=True)
    peer.finish()


def main(plan_path: str, rank: int, mode: str, coordinator: str | None = None) -> int:
    plan, token, server, state = read_plan(plan_path), job_token(), None, None
    if coordinator is None:
        state = Coordinator(plan, silence_s=SILENCE_S, register_s=REGISTER_S, on_metrics=on_metrics)
        server, coordinator = serve(state, "127.0.0.1:0", token)
        server.start()
        print("coordinator on", coordinator, flush=True)
    peer = Peer(plan, rank, f"127.0.0.1:{7000 + rank}", coordinator, token, silence_s=SILENCE_S)
    try:
        act(peer, mode)
        return 0
    except Stopped as err:
        print(f"stopped: {err}", file=sys.stderr, flush=True)
        return 3
    except SingaError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return 2
    finally:
        if server is not None and state is not None:
            if state.reason:
                time.sleep(2.5)  # the others hear why the job ends in their next heartbeat reply
            server.stop(1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], *sys.argv[4:]))
