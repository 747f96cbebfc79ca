"""--resume and checkpoint_path in a multi-process run: the rank that writes checkpoints opens them,
loads the newest step (or the job's checkpoint_path files) into its params and every server group, and
the other worker ranks take the servers' values from there."""
from __future__ import annotations

from typing import TYPE_CHECKING

from singa_proto import plan_pb2
from singa_spec.plans import content_hash

from ..checkpoint import Checkpoints
from ..workspace import check_fresh_run, open_workspace
from .node import Node

if TYPE_CHECKING:
    from .rank_trainer import RankTrainer

RESUME_BARRIER = "resume"  # every rank leaves it with the step the run resumes from


def open_checkpoints(trainer: RankTrainer, local: plan_pb2.PhaseGraph, keep: int, overwrite: bool,
                     resume: bool) -> None:
    """As the rank of worker 0: lock the job's workspace and open its checkpoints (of `local`'s params)."""
    trainer.workspace = open_workspace(trainer.job.cluster.workspace)
    plan_hash = trainer.plan.content_hash or content_hash(trainer.plan)
    trainer.checkpoints = Checkpoints(trainer.workspace.checkpoints, trainer.store, trainer.history, local,
                                      plan_hash, keep, trainer.node.say, grouped=True)
    if overwrite:
        trainer.checkpoints.replace_old = True
    elif not resume and (done := check_fresh_run(trainer.checkpoints.folder, trainer.checkpoints.plan,
                                                 trainer.job.train_steps)) is not None:
        trainer.node.say(f"singart: starting over: the finished run's checkpoints of this plan (up to "
                         f"step {done}) stay until this run writes its own")


def load_checkpoint(trainer: RankTrainer, resume: bool) -> int | None:
    """As the rank that writes checkpoints: --resume loads the newest complete step into this rank's
    params and every server group (values and the updater's history); that step (None: there is none,
    or no --resume: then the job's checkpoint_path files, when it names some, are loaded instead, as
    the one-process run does)."""
    assert trainer.checkpoints is not None
    step = trainer.checkpoints.resume() if resume else None
    if step is None:
        if resume:
            trainer.node.say(f"singart: no checkpoint in {trainer.checkpoints.folder}; starting from step "
                             f"{trainer.job.step}")
        warm_start(trainer)
        return None
    for name, value in trainer.store.values.items():
        trainer.client.put(name, value, step)
    trainer.node.say(f"singart: resuming from step {step} ({trainer.checkpoints.folder})")
    if step > trainer.job.step and (missing := trainer.history.missing()):
        trainer.node.say(f"singart: note: checkpoint step {step} holds no updater history of "
                         f"{', '.join(missing)} (written without it); it starts from zero, so this run "
                         "may end apart from an uninterrupted one")
    return step


def warm_start(trainer: RankTrainer) -> None:
    """Load the job's checkpoint_path files (another job's params, by name) into this rank's params
    and every server group, as they stand before the job's first step."""
    assert trainer.checkpoints is not None
    if trainer.job.checkpoint_path:
        job = trainer.job
        trainer.checkpoints.warm_start(job.checkpoint_path, job.step, job.reset_param_version)
        for name, value in trainer.store.values.items():
            trainer.client.put(name, value, trainer.job.step)


def start_from(trainer: RankTrainer, step: int, resumed: bool = True) -> None:
    """Continue from the values the servers now hold as of `step` (a checkpoint's, or a warm
    start's): the other worker ranks take them, then that step."""
    if trainer.checkpoints is None:
        for name, value in trainer.store.values.items():
            trainer.client.pull(trainer.group, step, name, value)
    trainer.start, trainer.resumed = step, resumed


def resume_step(node: Node, trainer: RankTrainer | None, resume: bool) -> int | None:
    """--resume or checkpoint_path: the rank that writes checkpoints loads the newest checkpoint (or
    else the job's checkpoint_path files) into the servers while the others wait at a barrier; all leave
    it with that step (None: none resumed from), and the other workers take the servers' values."""
    mine = -1
    if trainer is not None and trainer.checkpoints is not None:
        loaded = load_checkpoint(trainer, resume)
        mine = -1 if loaded is None else loaded
    step = node.peer.barrier(RESUME_BARRIER, mine)
    if trainer is not None and step >= 0:
        start_from(trainer, step)
    elif trainer is not None and trainer.job.checkpoint_path:
        start_from(trainer, trainer.job.step, resumed=False)
    return None if step < 0 else step
