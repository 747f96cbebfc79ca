"""GB/s of the param path between two processes on one host: GrpcParamClient pushing a 16 MB param's
gradient to a server process (which applies SGD to it) and pulling its values back, through shared
memory and through plain gRPC. Prints medians with [min-max] over the repeats; asserts nothing.

    python benchmarks/params_rpc.py                  # 16 MB, 7 repeats
    python benchmarks/params_rpc.py --mb 64 --repeats 3
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np
from singa_proto import job_pb2, plan_pb2
from singa_spec.plans import read_plan, seal, write_plan
from singart.distributed.params_rpc import GrpcParamClient, local_shards, params_server
from singart.transport import job_token
from transport import measure as timed  # the raw transport's timing loop


def one_param_plan(floats: int) -> plan_pb2.PlanProto:
    """A plan of one param `w` of `floats` floats in one slice on server 0, updated by plain SGD."""
    plan = plan_pb2.PlanProto(format_version="1")
    plan.job.updater.type = job_pb2.kSGD
    plan.job.updater.learning_rate.base_lr = 0.01
    entry = plan.params.add(name="w", shape=[floats], num_shares=1)
    entry.conf.init.type = job_pb2.kConstant
    entry.slices.add(slice_id=0, offset=0, size=floats, server=0, master_group=0)
    plan.roles.add(rank=0).servers.add(group=0, id=0)
    return seal(plan)


def serve(plan_path: str) -> None:
    plan = read_plan(plan_path)
    server, (address,) = params_server(plan, local_shards(plan, [(0, 0)]), job_token())
    server.start()
    print(address, flush=True)
    sys.stdin.read()
    server.stop(0)


class Steps:
    """Pushes and pulls of `w` at increasing steps: a pull of step n waits for step n - 1's push."""

    def __init__(self, client: GrpcParamClient, size: int) -> None:
        self.client, self.step = client, 0
        self.grad, self.values = np.full(size, 1e-3, np.float32), np.empty(size, np.float32)

    def push(self) -> None:
        self.client.push(0, self.step, "w", self.grad, 1)
        self.step += 1

    def pull(self) -> None:
        self.client.pull(0, self.step, "w", self.values)

    def both(self) -> None:
        self.push()
        self.pull()


def measure(plan: plan_pb2.PlanProto, address: str, token: str, shm: bool, repeats: int,
            first: int) -> tuple[dict[str, list[float]], int]:
    """GB/s of each path; the step the server is at after them."""
    client = GrpcParamClient(plan, {(0, 0): address}, token, shared_memory=shm)
    steps = Steps(client, int(plan.params[0].shape[0]))
    steps.step = first
    nbytes = steps.grad.nbytes
    got = {"push (Update + SGD)": timed(steps.push, nbytes, repeats),
           "pull (Get)": timed(steps.pull, nbytes, repeats),
           "push+pull": timed(steps.both, 2 * nbytes, repeats)}
    client.close()
    return got, steps.step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mb", type=int, default=16)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--serve", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        return serve(args.serve)
    env = {**os.environ, "SINGA_JOB_TOKEN": os.environ.get("SINGA_JOB_TOKEN") or job_token()}
    plan = one_param_plan(args.mb << 18)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "plan.bin")
        write_plan(plan, path)
        server = subprocess.Popen([sys.executable, __file__, "--serve", path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert server.stdout is not None
            address = server.stdout.readline().strip()
            print(f"GB/s, {args.mb} MB param, median [min-max] of {args.repeats}, two processes on one host")
            step = 0
            for name, shm in (("plain gRPC", False), ("shared memory", True)):
                got, step = measure(plan, address, env["SINGA_JOB_TOKEN"], shm, args.repeats, step)
                for path_name, r in got.items():
                    print(f"| {name} | {path_name} | {statistics.median(r):.2f} [{min(r):.2f}-{max(r):.2f}] |")
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
