"""`singart run` as one rank of a multi-process plan: serve, register, train this rank's share, finish.

A worker rank keeps `store.ParamStore` as SINGA's stub: built over this rank's nodes only, it sums the
gradients of the rank's users of a param; its `RemoteUpdates` then pushes that sum to the param's
servers (with the number of shares it carries) and pulls the group's updated values back in place. The
pull waits for the servers' update of the step, so a synchronous group stays in step across processes.
Every process draws the initial values from the same plan and seed, so workers and servers start equal
(a process with both draws them once). Rank 0 prints the merged metrics and writes them to the event file.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import NoReturn, TextIO

from singa_proto import plan_pb2

from .. import SingaError
from ..launch.output import EXIT_STOPPED
from ..launch.rank import Rank
from ..train import summary
from ..transport import TlsFiles
from .coordinator import Stopped
from .node import LINGER_S, Node
from .peer import COORDINATOR_RANK
from .printer import Printer
from .rank_resume import resume_step
from .rank_share import reporting_ranks, several_groups, worker_group
from .rank_trainer import TRAINED_BARRIER, RankTrainer

UPDATES_ENV = "SINGART_REPORT_UPDATES"  # set to 1: server ranks print their update (and Hogwild sync) counts at the end


def run_rank(plan: plan_pb2.PlanProto, found: Rank, token: str, keep: int, overwrite: bool,
             out: TextIO | None = None, tls: TlsFiles | None = None, resume: bool = False) -> int:
    """Run this process's rank of the plan to the end; 0 when the job finished."""
    out = out if out is not None else sys.stdout
    began, rank = time.monotonic(), found.rank
    resumed: int | None = None
    printer = Printer(out, plan.job.cluster.workspace)
    node = Node(plan, found, token, on_metrics=printer, reporters=reporting_ranks(plan), tls=tls)
    claim = threading.Lock()  # whoever takes it, the watcher or the main thread, says how the rank ends

    def on_stop(reason: str) -> None:
        if claim.acquire(blocking=False):
            node.say(f"singart: error: {reason}")
            sys.stdout.flush()
            os._exit(EXIT_STOPPED)

    try:
        node.join()
        node.watch(on_stop)
        mine = worker_group(plan, rank)
        trainer = None if mine is None else RankTrainer(plan, node, *mine, keep, overwrite, resume)
        if resume or plan.job.checkpoint_path:
            resumed = resume_step(node, trainer, resume)
        if trainer is not None:
            try:
                trainer.run()
            finally:
                trainer.close()
        elif several_groups(plan):
            node.peer.barrier(TRAINED_BARRIER)
        node.peer.finish()
    except BaseException as err:  # noqa: BLE001 -- fail() re-raises it, or the job's stop reason
        if not claim.acquire(blocking=False):
            time.sleep(60)  # the watcher is ending the process with the job's reason
        fail(node, err)
    finally:
        node.close()
        printer.close()
    if os.environ.get(UPDATES_ENV, "") not in ("", "0") and node.shards:
        node.say(f"rank {rank} updates {json.dumps(node.updates(), sort_keys=True)}")
        if plan.job.cluster.nserver_groups > 1:
            node.say(f"rank {rank} syncs {json.dumps(node.syncs(), sort_keys=True)}")
    if trainer is not None and (comm := trainer.updates.comm) is not None:
        steps = plan.job.train_steps - plan.job.step
        node.say(f"rank {rank} comm " + json.dumps(comm.report(steps)))
    if rank == COORDINATOR_RANK:
        last = trainer.checkpoints.last if trainer is not None and trainer.checkpoints is not None else None
        node.say(summary(plan.job, resumed, time.monotonic() - began, printer.test, last))
    return 0


def fail(node: Node, err: BaseException) -> NoReturn:
    """End on an error: the job's stop reason when the job stops (a call failed because of it), else
    this rank's error, which it first asks every rank to stop for; serving ranks linger (LINGER_S)."""
    reason = None if not isinstance(err, Exception) else node.stop_reason()  # an interrupt stays one
    if reason is None:
        try:
            node.peer.stop(" ".join(str(err).split()) or type(err).__name__)
        except SingaError:
            pass
    if node.serves_others():
        time.sleep(LINGER_S)
    if reason is not None:
        raise Stopped(reason) from None
    raise err
