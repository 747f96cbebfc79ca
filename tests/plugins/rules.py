"""What a run with kinds_plugin.py's updater, init method and schedule leaves in its checkpoints: w1
starts as the plugin's ramp, and at every step each param's elements move by exactly the schedule's
rate (the sign rule), whatever their gradients."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from singart import checkpoint, manifests


def params_at(folder: Path, step: int) -> dict[str, np.ndarray]:
    """The params of the complete checkpoint of `step` in `folder`."""
    files = manifests.step_files(manifests.done_path(folder, step), step)
    assert files is not None, f"step {step} has no complete checkpoint"
    return {name: np.asarray(arr) for name, (arr, _) in checkpoint.read(files[0]).items()}


def assert_user_rules(folder: Path, steps: int, base_lr: float, every: int, start: float, ramp: float) -> None:
    """Check the ramp init of w1 and every update of every param from step 0 to `steps` (checkpointed
    at each step): a move of base_lr / 2 ** (step // every)."""
    w1 = params_at(folder, 0)["w1"]
    np.testing.assert_allclose(w1.ravel(), start + ramp * np.arange(w1.size), rtol=0, atol=1e-6)
    assert_sign_steps(folder, [base_lr / 2 ** (step // every) for step in range(steps)])


def assert_sign_steps(folder: Path, rates: list[float]) -> None:
    """Check that at each step every param moved by exactly that step's rate wherever it moved, and
    that it moved in more than half of its elements (the sign rule, whatever the gradients' sizes)."""
    for step, lr in enumerate(rates):
        before, after = params_at(folder, step), params_at(folder, step + 1)
        assert before.keys() == after.keys() and len(before) >= 4
        for name in before:
            moved = np.abs(after[name] - before[name])
            assert np.count_nonzero(moved) > moved.size // 2, f"step {step}: {name} hardly moved"
            np.testing.assert_allclose(moved[moved > 0], lr, rtol=0, atol=2e-7,
                                       err_msg=f"step {step}: {name} did not move by the user's lr")
