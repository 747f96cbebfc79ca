"""Distributed Hogwild through `singart run`, as real processes: two worker groups, each with a server
group of its own, train, and every replica syncs with its slice's master once every `sync_freq` steps; the time and bytes of the
worker ranks' pushes and pulls, when asked."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
from singa_spec.plans import read_plan

from .run_jobs import command, make_plan

HOGWILD = "1 nworkers_per_procs: 1 server_worker_separate: true nserver_groups: 2 sync_freq: 3"
STEPS = 30


def reported(stderr: str, what: str) -> dict[int, dict[str, object]]:
    """rank -> the counts it printed on the `rank R <what> {...}` line."""
    return {int(r): json.loads(counts)
            for r, counts in re.findall(rf"^\[rank \d\] rank (\d) {what} (.*)$", stderr, re.MULTILINE)}


def test_hogwild_groups_train_and_sync_every_sync_freq_steps(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, workers=HOGWILD, groups=2, steps=STEPS)
    env = {**os.environ, "SINGART_REPORT_UPDATES": "1"}
    done = subprocess.run(command("singart", "run", str(plan)), capture_output=True, text=True,
                          timeout=300, check=False, env=env)
    assert done.returncode == 0, done.stderr
    losses = [float(m) for m in re.findall(r"Train @ step \d+: loss = ([0-9.e+-]+)", done.stdout)]
    assert len(losses) == STEPS
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.2
    updates, syncs = reported(done.stderr, "updates"), reported(done.stderr, "syncs")
    assert sorted(updates) == sorted(syncs) == [2, 3]  # the two server processes, one group each
    for rank, group in ((2, "0"), (3, "1")):
        assert updates[rank] and all(u == {group: STEPS} for u in updates[rank].values()), updates
    # each slice: one replica sends a sync every sync_freq updates, its master takes each one in
    assert all(n == STEPS // 3 for counts in syncs.values() for n in counts.values()), syncs
    assert syncs[2].keys() != syncs[3].keys()  # keyed by server group: both replicas of every slice
    # every slice a server holds syncs (an empty report would pass the checks above)
    assert all(syncs[rank] and len(syncs[rank]) == len(updates[rank]) for rank in (2, 3)), (syncs, updates)


def test_worker_ranks_report_their_push_and_pull_bytes_when_asked(tmp_path: Path) -> None:
    """SINGART_REPORT_COMM=1: each worker rank pushes a gradient and pulls the values of every param once
    a step, and says how many bytes and seconds that took; without it, nothing is said."""
    plan = make_plan(tmp_path, workers="2 nworkers_per_procs: 1 server_worker_separate: true", steps=4,
                     checkpoint_freq=0)
    floats = sum(int(np.prod(e.shape)) for e in read_plan(plan).params if not e.share_from)
    asked = subprocess.run(command("singart", "run", str(plan), "--overwrite"), capture_output=True,
                           text=True, timeout=300, check=False, env={**os.environ, "SINGART_REPORT_COMM": "1"})
    assert asked.returncode == 0, asked.stderr
    comm = reported(asked.stderr, "comm")
    assert sorted(comm) == [0, 1]  # the worker ranks; the server rank pushes nothing
    for counts in comm.values():
        assert counts["bytes"] == 4 * 2 * 4 * floats and counts["steps"] == 4
        assert counts["calls"] == 4 * 6 and counts["seconds"] > 0  # six params, once a step each
    quiet = subprocess.run(command("singart", "run", str(plan), "--overwrite"), capture_output=True,
                           text=True, timeout=300, check=False)
    assert quiet.returncode == 0 and not reported(quiet.stderr, "comm")
