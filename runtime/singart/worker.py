"""A worker group in one process: each worker runs its nodes of a phase graph in its own thread.

Bridges synchronise the threads; kernels release the GIL, so the workers truly run in parallel, each
with its share of the cores for the kernels' own threads.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from singa_proto import job_pb2, plan_pb2

from .algorithms import BP, Algorithm
from .connection import Aborted, Channels, ChannelSet
from .executor import ComputeStep, Executor
from .folding import ReplicaShare, share_replicas
from .store import ParamStore


def set_kernel_threads(n: int) -> None:
    """Give the calling thread's kernels `n` threads (the kernel threads are per calling thread)."""
    from . import ops

    ops.set_num_threads(n)

def available_cores() -> int:
    """The cores this process may use: OMP_NUM_THREADS when set, else the CPUs it is allowed to run on
    (its affinity mask, which taskset, cgroups' cpusets and Slurm narrow; os.cpu_count() ignores it)."""
    limit = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if limit.isdigit() and int(limit) > 0:
        return int(limit)
    return len(os.sched_getaffinity(0))


def kernel_threads(nworkers: int, cores: int | None = None) -> int:
    """The cores each of `nworkers` workers' kernels may use, of `cores` (default: this process's)."""
    return max(1, (available_cores() if cores is None else cores) // nworkers)

def merge_metrics(parts: list[dict[str, tuple[float, int]]]) -> dict[str, tuple[float, int]]:
    """Sum {name: (sum, count)} metrics over workers (or steps)."""
    total: dict[str, tuple[float, int]] = {}
    for part in parts:
        for name, (s, c) in part.items():
            s0, c0 = total.get(name, (0.0, 0))
            total[name] = (s0 + s, c0 + c)
    return total

class WorkerGroup:
    """The workers of one group running one phase graph; `run` does one step on all of them."""

    def __init__(self, graph: plan_pb2.PhaseGraph, store: ParamStore, seed: int, train: bool,
                 ngroups: int = 1, workers: list[int] | None = None, channels: ChannelSet | None = None,
                 algorithm: Algorithm | None = None, cores: int | None = None) -> None:
        """`workers`: the ones this process runs (all of the graph's by default); `channels`: bridges
        that reach workers elsewhere (distributed/bridges_rpc.py) instead of the in-process ones;
        `algorithm`: the job's TrainOneBatch (BP by default); `cores`: the cores its workers share
        (default: this process's; a rank's share of its host in a multi-process run)."""
        self.store, self.train = store, train
        self.algorithm = BP(job_pb2.AlgProto()) if algorithm is None else algorithm
        self.channels: ChannelSet = Channels() if channels is None else channels
        workers = sorted({n.worker for n in graph.nodes} if workers is None else workers)
        self.executors = [Executor(graph, w, store, self.channels, seed, train) for w in workers]
        self.shares = self._share_replicas() if train else []
        n = len(self.executors)
        self.pool = (ThreadPoolExecutor(n, thread_name_prefix="worker", initializer=set_kernel_threads,
                                        initargs=(kernel_threads(n * ngroups, cores),)) if n > 1 else None)

    def _share_replicas(self) -> list[ReplicaShare]:
        """Let the replicas of each weight in this group's workers compute together (folding.py)."""
        folds = [[st.fold for _, st in ex.steps if isinstance(st, ComputeStep) and st.fold is not None]
                 for ex in self.executors]
        return share_replicas(self.store, folds)

    def run(self, step: int) -> None:
        """One step: forward (and, when training, backward and the updates) on every worker."""
        if self.train:
            self.store.begin_step()
        if self.pool is None:
            self._one(self.executors[0], step)
        else:
            self._all(step)
        if self.train:
            self.store.finish_step(step)

    def _one(self, ex: Executor, step: int) -> None:
        if self.train:
            self.algorithm.train_one_batch(ex, step)
        else:
            self.algorithm.test_one_batch(ex, step)

    def _all(self, step: int) -> None:
        assert self.pool is not None
        futures = [self.pool.submit(self._guarded, ex, step) for ex in self.executors]
        errors = [f.exception() for f in futures]
        real = [e for e in errors if e is not None and not isinstance(e, Aborted)]
        if real:
            raise real[0]

    def _guarded(self, ex: Executor, step: int) -> None:
        try:
            self._one(ex, step)
        except BaseException:
            self.channels.abort()  # wake the workers waiting on this one's bridges or replicas
            for share in self.shares:
                share.abort()
            raise

    def metrics(self) -> dict[str, tuple[float, int]]:
        """The group's loss metrics since the last call, summed over workers."""
        return merge_metrics([ex.metrics() for ex in self.executors])

    def close(self) -> None:
        """Stop the worker threads."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)


class Background:
    """A further worker group of the process, training its own batches in its own thread: its updates
    land in the shared params asynchronously (SINGA's in-memory Hogwild / Downpour)."""

    def __init__(self, group: WorkerGroup, start: int, end: int, threads: int) -> None:
        self.group = group
        self.error: BaseException | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, args=(start, end, threads), daemon=True)

    def start(self) -> None:
        """Start training."""
        self.thread.start()

    def _loop(self, start: int, end: int, threads: int) -> None:
        try:
            set_kernel_threads(threads)
            for step in range(start, end):
                if self.stopping.is_set():
                    return
                self.group.run(step)
        except BaseException as err:  # noqa: BLE001 -- handed to the main thread, which re-raises it
            self.error = err

    def join(self, stop: bool = False) -> None:
        """Wait for the group to finish (or, with `stop`, to stop after its current step); `check` then
        re-raises its error."""
        if stop:
            self.stopping.set()
        if self.thread.ident is not None:
            self.thread.join()

    def check(self) -> None:
        """Re-raise the group's error as soon as it failed (not only at the end)."""
        if self.error is not None:
            raise self.error
