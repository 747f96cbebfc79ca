"""What a test reads back from a run: the losses of its log lines and the params of a checkpoint."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from singart import checkpoint


def losses(log: str, label: str = "Train") -> list[float]:
    """The loss of each `label @ step N: loss = ...` line of a run's log."""
    return [float(x) for x in re.findall(rf"{label} @ step \d+: loss = ([^,\s]+)", log)]


def step_params(ws: Path | str, step: int) -> dict[str, np.ndarray]:
    """The params of every worker's checkpoint of `step` in workspace `ws`, together."""
    files = sorted((Path(ws) / "checkpoint").glob(f"step{step}-worker*"))
    assert files, f"no checkpoint of step {step} in {ws}"
    return {name: value for f in files for name, (value, _) in checkpoint.read(f).items()}
