"""Drives a plan's params through one ParamStore over every node (the oracle, as one process runs them)
and through the split as worker ranks run it (in each worker 'process' a ParamStore over its nodes only,
SINGA's stub, whose RemoteUpdates push the summed gradient to the servers' shards and pull the group's
new values) with the same synthetic gradients, node by node.

A node's gradient depends on the values it was given (so a wrong update changes every later step) and
lies on a grid of 2^-12 within +-4: any sum of a step's shares is then exact in float32, whatever the
order or grouping of the additions, which is what lets a sum over processes be compared bit for bit
with the in-process sum (float addition is not associative: on arbitrary floats the two trees differ
in the last bit, which is the reduction order, not the split, at fault)."""
from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np
import singac
from google.protobuf import text_format
from singa_proto import job_pb2, plan_pb2
from singart import store
from singart.distributed.rank_share import local_graph, local_shares
from singart.distributed.remote_updates import RemoteUpdates
from singart.params.client import InProcessClient, ParamClient, in_process_servers
from singart.params.shard import Shard
from singart.params.updaters import Updater

REPO = Path(__file__).resolve().parents[2]
GRID = 2.0 ** 12


def compile_job(tmp_path: Path, text: str, cluster: str, updater: str) -> plan_pb2.PlanProto:
    """`text`'s job with its cluster and updater replaced by the given text-format fields."""
    job = text_format.Parse(text, job_pb2.JobProto())
    workspace = str(tmp_path / "ws")
    job.ClearField("cluster")
    text_format.Parse(cluster, job.cluster)
    job.cluster.workspace = workspace
    job.ClearField("updater")
    text_format.Parse(updater, job.updater)
    src = tmp_path / "job.pbtxt"
    src.write_text(text_format.MessageToString(job))
    return singac.compile_file(str(src))


def train_graph(plan: plan_pb2.PlanProto) -> plan_pb2.PhaseGraph:
    return next(g for g in plan.graphs if g.phase == job_pb2.kTrain)


def synth(step: int, node: int, ref: int, value: np.ndarray) -> np.ndarray:
    """A gradient for `value` on the 2^-12 grid: half the value plus seeded noise."""
    noise = np.random.default_rng([step, node, ref]).standard_normal(value.shape, np.float32)
    return (np.clip(np.round((0.5 * value + noise) * GRID), -4 * GRID, 4 * GRID) / GRID).astype(np.float32)


def block_of(ref: plan_pb2.ParamRef) -> tuple[int, int, int] | None:
    return (ref.block.axis, ref.block.begin, ref.block.end) if ref.HasField("block") else None


def part(value: np.ndarray, block: tuple[int, int, int] | None) -> np.ndarray:
    if block is None:
        return value
    return value[(slice(None),) * block[0] + (slice(block[1], block[2]),)]


def oracle(plan: plan_pb2.PlanProto, steps: int) -> dict[str, np.ndarray]:
    """The values after `steps` steps of ParamStore, every node adding its gradient in graph order."""
    graph = train_graph(plan)
    st, _ = store.build(plan, graph)
    drive(st, list(enumerate(graph.nodes)), steps)
    return st.values


def drive(st: store.ParamStore, nodes: list[tuple[int, plan_pb2.Node]], steps: int) -> None:
    """`steps` steps of `nodes` (graph index, node) over `st`: each node takes its params' values and adds
    the synthetic gradient of each; the store updates a param once all its users' gradients are in."""
    for n in range(steps):
        st.begin_step()
        for i, node in nodes:
            for j, ref in enumerate(node.params):
                value = np.ascontiguousarray(st.fetch(ref, st.block_buffer(ref)))
                st.add_grad(ref, synth(n, i, j, value), n)
        st.finish_step(n)


class Split:
    """Worker group 0 of a plan run as worker processes (`procs`: their worker ids), each as a worker rank
    runs it, in a thread of its own with its own copy of the values; over in-process shards unless a
    client to other servers is given."""

    def __init__(self, plan: plan_pb2.PlanProto, procs: list[list[int]], client: ParamClient | None = None) -> None:
        self.plan, self.graph, self.procs = plan, train_graph(plan), procs
        self.shards: dict[tuple[int, int], Shard] = {}
        if client is None:
            self.shards = in_process_servers(plan, store.init_values(plan))
            client = InProcessClient(plan, self.shards)
        self.client = client

    def run(self, steps: int) -> dict[str, np.ndarray]:
        """Train `steps` steps on every process at once; the values group 0 sees after them."""
        with ThreadPoolExecutor(len(self.procs)) as pool:
            futures = [pool.submit(self._process, workers, steps) for workers in self.procs]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for f in done:
                f.result()  # the first process's error, not the others' wait for its shares
        out = {e.name: np.empty(tuple(e.shape), np.float32) for e in self.plan.params if not e.share_from}
        for name, arr in out.items():
            self.client.pull(0, steps, name, arr)
        return out

    def stub(self, workers: list[int]) -> store.ParamStore:
        """The store a worker rank hosting `workers` builds: over its nodes, updating through the servers."""
        shares = local_shares(self.plan, self.graph, workers)
        updates = RemoteUpdates(self.plan, Updater(self.plan.job.updater), self.client, 0, shares)
        return store.ParamStore(self.plan, store.init_values(self.plan), local_graph(self.graph, workers), updates)

    def _process(self, workers: list[int], steps: int) -> None:
        drive(self.stub(workers), [(i, n) for i, n in enumerate(self.graph.nodes) if n.worker in workers], steps)


def run_groups(plan: plan_pb2.PlanProto, targets: list[float], steps: int) -> dict:
    """Each worker group g pulls, then pushes the gradient of 1/2 |w - targets[g]|^2, in turn, one
    step each per round; the values every server group holds after, by (server group, param)."""
    values = store.init_values(plan)
    shards = in_process_servers(plan, values)
    client = InProcessClient(plan, shards)
    totals = {e.name: e.num_shares for e in plan.params}
    w = {name: np.empty_like(v) for name, v in values.items()}
    for n in range(steps):
        for g, target in enumerate(targets):
            for name, arr in w.items():
                client.pull(g, n, name, arr)
                client.push(g, n, name, (arr - np.float32(target)).astype(np.float32), totals[name])
    return {(sg, name): _held(shards, sg, plan, name) for sg in range(plan.job.cluster.nserver_groups)
            for name in values}


def _held(shards: dict[tuple[int, int], Shard], sgroup: int, plan: plan_pb2.PlanProto, name: str) -> np.ndarray:
    """Server group `sgroup`'s current values of `name`, assembled from its shards' slices."""
    entry = next(e for e in plan.params if e.name == name)
    out = np.empty(int(np.prod(entry.shape)), np.float32)
    for s in entry.slices:
        out[s.offset:s.offset + s.size] = shards[sgroup, s.server].held[name, s.slice_id].value
    return out
