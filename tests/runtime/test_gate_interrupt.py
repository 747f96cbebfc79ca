"""A signal that interrupts the main thread while it waits to hold the background groups (before a
checkpoint) must release the gate: else the groups wait for it forever and the run never ends."""
from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType

import pytest
from singart.train import Gate

HANG = 60  # seconds: only a gate left held waits this long (a hang guard, not a timing assumption)


class Interrupt(KeyboardInterrupt):
    """What the test's signal handler raises in the main thread."""


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupt


def test_interrupted_hold_releases_the_gate() -> None:
    gate = Gate()
    in_step, leave = threading.Event(), threading.Event()

    def background_step() -> None:
        with gate.step():
            in_step.set()
            leave.wait(HANG)

    def interrupt_the_hold() -> None:
        while not gate._held:  # the main thread is inside hold(), waiting for the step to end
            time.sleep(0.001)
        os.kill(os.getpid(), signal.SIGUSR1)
        leave.set()

    step = threading.Thread(target=background_step, daemon=True)
    step.start()
    in_step.wait(HANG)
    previous = signal.signal(signal.SIGUSR1, _raise)
    try:
        threading.Thread(target=interrupt_the_hold, daemon=True).start()
        with pytest.raises(Interrupt), gate.hold():
            pass
    finally:
        signal.signal(signal.SIGUSR1, previous)
    step.join(HANG)
    after = threading.Thread(target=background_step, daemon=True)  # the next step must be let in
    after.start()
    after.join(HANG)
    assert not after.is_alive()
