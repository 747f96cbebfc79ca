"""The training loop of a worker rank: this rank's share of its worker group, its evaluations, the
job's checkpoints (on the rank of worker 0) and the metrics it reports to the coordinator."""
from __future__ import annotations

from singa_proto import job_pb2, plan_pb2

from .. import store
from ..algorithms import make_algorithm
from ..checkpoint import Checkpoints
from ..finite import check_metrics, check_params
from ..params.updaters import Updater
from ..train import EVALS, due, eval_graph, evaluate, find_graph
from ..worker import merge_metrics
from ..workspace import Workspace
from .coordinator import Stopped
from .group import ProcessGroup
from .history import ServerHistory
from .node import Node
from .rank_resume import open_checkpoints
from .rank_share import checkpoint_rank, local_graph, local_shares, reporting_ranks, several_groups
from .remote_updates import RemoteUpdates

TRAINED_BARRIER = "trained"  # several worker groups: every rank has trained, the final checkpoint is due


class RankTrainer:
    """The loop of a worker rank: this rank's share of its group, evaluations, checkpoints, metrics."""

    def __init__(self, plan: plan_pb2.PlanProto, node: Node, group: int, workers: list[int],
                 keep: int, overwrite: bool, resume: bool = False) -> None:
        self.plan, self.job, self.node, self.group = plan, plan.job, node, group
        graph = find_graph(plan, job_pb2.kTrain)
        assert graph is not None
        local = local_graph(graph, workers)
        self.client = node.client()
        self.updates = updates = RemoteUpdates(plan, Updater(plan.job.updater), self.client, group,
                                               local_shares(plan, graph, workers))
        assert node.values is not None  # a rank with workers draws every param (its shards share them)
        self.store = store.ParamStore(plan, node.values, local, updates)
        links, inbox, rank, seed = node.links, node.inbox, node.rank, self.job.seed + group
        alg = make_algorithm(self.job.train_one_batch)
        self.train = ProcessGroup(plan, graph, self.store, seed, True, rank, group, links, inbox,
                                  algorithm=alg, cores=node.cores)
        self.reports = rank in reporting_ranks(plan)
        self.evals: dict[str, ProcessGroup] = {}
        for what in EVALS:
            g = eval_graph(plan, what)
            if g is not None and self.reports:
                self.evals[what] = ProcessGroup(plan, g, self.store, seed, False, rank, group, links, inbox,
                                                algorithm=alg, cores=node.cores)
        self.workspace: Workspace | None = None
        self.checkpoints: Checkpoints | None = None
        self.history = ServerHistory(plan, self.client)
        self.start, self.resumed = self.job.step, False
        # the params this rank's nodes do not use: the servers hold their current values
        used = {self.store.owner(ref.param) for n in local.nodes for ref in n.params}
        self.elsewhere = sorted(set(self.store.values) - used)
        if rank == checkpoint_rank(plan):
            open_checkpoints(self, local, keep, overwrite, resume)


    def run(self) -> None:
        """Train from the job's (or the resumed) step to train_steps, then the final checkpoint and test."""
        start, end = self.start, self.job.train_steps
        pending: dict[str, tuple[float, int]] = {}
        for step in range(start, end):
            if self.node.peer.stopped.is_set():
                raise Stopped(self.node.peer.reason)
            for what in EVALS:
                if due(self.job, what, step) and what in self.evals:
                    self.evaluate(what, step)
            if due(self.job, "checkpoint", step) and not (self.resumed and step == start):
                self._save(step)
            self.train.run(step)
            metrics = self.train.metrics()
            check_metrics(step, metrics, "Train")
            pending = merge_metrics([pending, metrics])
            if due(self.job, "display", step):
                self.report("train", step, pending)
                pending = {}
        self.join_groups(end)
        if not (self.resumed and start >= end):  # that step's checkpoint is the one resumed from
            self._save(end)
        if "test" in self.evals:
            self.evaluate("test", end)

    def join_groups(self, end: int) -> None:
        """Several worker groups: wait until every rank has trained, then take the servers' values, so
        that the final checkpoint and test hold every group's steps (as one process's do)."""
        if several_groups(self.plan):
            self.node.peer.barrier(TRAINED_BARRIER)
            for name, value in self.store.values.items():
                self.client.pull(self.group, end, name, value)

    def _save(self, step: int) -> None:
        if self.checkpoints is not None:
            for name in self.elsewhere:  # other processes' params (model partitioning): the servers' values
                self.client.pull(self.group, step, name, self.store.values[name])
            check_params(step, self.store.values)
            self.checkpoints.save(step)

    def evaluate(self, what: str, step: int) -> None:
        """This rank's share of `test_steps` (or `validate_steps`) batches; the coordinator merges them."""
        self.report(EVALS[what][2].lower(), step, evaluate(self.job, self.evals[what], what, step))

    def report(self, phase: str, step: int, metrics: dict[str, tuple[float, int]]) -> None:
        """Send this rank's metric sums of `phase` at `step` (its batches counted once)."""
        if self.reports:
            count = max((c for _, c in metrics.values()), default=0)
            self.node.peer.report(phase, step, {k: s for k, (s, _) in metrics.items()}, count)

    def close(self) -> None:
        for group in (self.train, *self.evals.values()):
            group.close()
        self.updates.close()
        self.client.close()
        if self.workspace is not None:
            self.workspace.release()
