"""A server process of the params-over-gRPC tests: serves the shards the plan gives RANK, with the token
in SINGA_JOB_TOKEN; prints `listening on HOST:PORT`, reads one line of JSON (the address book,
"GROUP/ID" -> HOST:PORT, to reach master server groups), serves until stdin closes, then prints the
updates each of its slices got as JSON ("SERVER_GROUP:PARAM/SLICE" -> {"WORKER_GROUP": count})."""
from __future__ import annotations

import json
import sys

from singa_spec.plans import read_plan
from singart.distributed.params_rpc import connect_masters, hosted_servers, local_shards, params_server
from singart.transport import job_token


def main(plan_path: str, rank: int) -> None:
    plan, token = read_plan(plan_path), job_token()
    shards = local_shards(plan, hosted_servers(plan, rank))
    server, (address,) = params_server(plan, shards, token)
    server.start()
    print(f"listening on {address}", flush=True)
    book = {tuple(map(int, k.split("/"))): a for k, a in json.loads(sys.stdin.readline()).items()}
    connect_masters(shards, book, token)  # type: ignore[arg-type]
    sys.stdin.read()
    server.stop(0)
    counts = {f"{g}:{n}/{i}": shard.updates(n, i) for (g, _), shard in shards.items() for n, i in shard.held}
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
