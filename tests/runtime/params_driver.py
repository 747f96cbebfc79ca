"""Drives a plan's params through today's ParamStore (the oracle) and through the split (aggregators in
worker 'processes', shards of servers) with the same synthetic gradients, node by node.

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
from singart.params.aggregator import Aggregator
from singart.params.client import InProcessClient, in_process_servers
from singart.params.shard import Shard
from singart.params.slicing import owners

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
    for n in range(steps):
        st.begin_step()
        for i, node in enumerate(graph.nodes):
            for j, ref in enumerate(node.params):
                value = np.ascontiguousarray(st.fetch(ref, st.block_buffer(ref)))
                st.add_grad(ref, synth(n, i, j, value), n)
        st.finish_step(n)
    return st.values


class Split:
    """Worker group 0 of a plan run as worker processes (`procs`: their worker ids), one thread per
    worker, each with its own copy of the values, over in-process shards."""

    def __init__(self, plan: plan_pb2.PlanProto, procs: list[list[int]]) -> None:
        self.plan, self.graph = plan, train_graph(plan)
        self.values = store.init_values(plan)
        self.shards: dict[tuple[int, int], Shard] = in_process_servers(plan, self.values)
        self.client = InProcessClient(plan, self.shards)
        self.owner = owners(plan.params)
        aggs = [Aggregator.from_plan(plan, self.graph, 0, ws, self.client) for ws in procs]
        self.aggs = {w: agg for ws, agg in zip(procs, aggs) for w in ws}  # worker -> its process's

    def run(self, steps: int) -> dict[str, np.ndarray]:
        """Train `steps` steps on every worker at once; the values group 0 sees after them."""
        with ThreadPoolExecutor(len(self.aggs)) as pool:
            futures = [pool.submit(self._worker, w, steps) for w in self.aggs]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for f in done:
                f.result()  # the first worker's error, not the others' wait for its share
        out = {name: np.empty_like(v) for name, v in self.values.items()}
        for name, arr in out.items():
            self.client.pull(0, steps, name, arr)
        return out

    def _worker(self, w: int, steps: int) -> None:
        mine = [(i, node) for i, node in enumerate(self.graph.nodes) if node.worker == w]
        local = {self.owner[r.param]: None for _, node in mine for r in node.params}
        copies = {name: np.empty_like(self.values[name]) for name in local}
        for n in range(steps):
            for name, arr in copies.items():
                self.client.pull(0, n, name, arr)
            for i, node in mine:
                for j, ref in enumerate(node.params):
                    block = block_of(ref)
                    value = np.ascontiguousarray(part(copies[self.owner[ref.param]], block))
                    self.aggs[w].add(n, ref.param, synth(n, i, j, value), block)


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
