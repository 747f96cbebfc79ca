"""A script registers its own layer and updater through the Python API and trains a job with them in
its process; its plan handed to `singart run` in another process, where the script's registrations are
not, is refused in one line naming the missing kind and the fix, and runs once given the script."""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import singa
from singa_spec import SPECS, kinds, spec_of
from singart.layers import IMPLEMENTATIONS
from singart.params.updaters import UPDATERS

from ..plugins.rules import assert_sign_steps, params_at
from ..runtime.run_jobs import run
from ..shards import image_shard

SCRIPT = Path(__file__).resolve().parent / "one_script.py"
STEPS, LR = 5, 0.01


def test_a_scripts_own_kinds_train_here_and_need_a_plugin_elsewhere(tmp_path: Path) -> None:
    image_shard(tmp_path / "shard")
    plan = tmp_path / "job.plan"
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "shard"), str(tmp_path / "ws"), str(plan)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["forward"] == seen["backward"] == STEPS and len(seen["losses"]) == STEPS  # the layer ran
    folder = tmp_path / "ws" / "checkpoint"
    assert_sign_steps(folder, [LR] * STEPS)  # the script's updater ran
    assert params_at(folder, 0)["o"].shape == (8,)  # the layer's spec gave its param's shape
    refused = run("singart", "run", str(plan))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("singart: error: no updater 'SignStep' is registered; known: ")
    assert "put the registration in a plugin file and give it to singac compile with --plugin" in line
    ran = run("singart", "run", str(plan), "--plugin", str(SCRIPT))  # its work waits under __main__
    assert ran.returncode == 0, ran.stderr
    losses = [float(x.split("loss = ")[1].split(",")[0]) for x in ran.stdout.splitlines() if "Train @" in x]
    assert [f"{x:.6g}" for x in losses] == [f"{x:.6g}" for x in seen["losses"]]


def test_an_unregistered_layer_kind_says_how_to_bring_it() -> None:
    with pytest.raises(singa.SingaError, match=r"no layer kind Offset is registered; known: .*kInnerProduct.* "
                                               r"\(a plugin registers its own: .* with --plugin"):
        spec_of("Offset")


@pytest.fixture
def forget() -> Iterator[None]:
    """Remove what the test registers from every registry afterwards (the others list the names)."""
    yield
    for names in (SPECS, IMPLEMENTATIONS, UPDATERS.items, kinds.DECLARED["updater"]):
        for name in ("ApiTwice", "ApiNoop"):
            names.pop(name, None) if isinstance(names, dict) else names.discard(name)


def test_the_api_registers_into_the_runtimes_registries(forget: None) -> None:
    @singa.layer("ApiTwice", connection=singa.ONE_TO_ONE, dims=frozenset({singa.BATCH, singa.FEATURES}))
    class Twice(singa.NumpyLayer):
        def forward(self, inputs):
            return 2 * inputs[0]

    @singa.updater("ApiNoop")
    def noop(u, w, g, tmp, slots, lr, t):
        pass

    assert SPECS["ApiTwice"].connection == singa.ONE_TO_ONE and SPECS["ApiTwice"].shape([], [(3, 4)]) == (3, 4)
    assert getattr(IMPLEMENTATIONS["ApiTwice"], "user", None) is Twice
    assert UPDATERS.get("ApiNoop").step is noop
    with pytest.raises(ValueError, match="give its spec .* or its fields, not both"):
        singa.register_layer("ApiThrice", Twice, SPECS["ApiTwice"])


def test_running_the_same_registrations_again_replaces_them(forget: None) -> None:
    """A notebook cell or script body run twice registers its kinds again: the second definitions
    replace the first; another class or rule under a registered name is still a clash."""
    made = []
    for _ in range(2):
        @singa.layer("ApiTwice")
        class Twice(singa.NumpyLayer):
            def forward(self, inputs):
                return 2 * inputs[0]

        @singa.updater("ApiNoop")
        def noop(u, w, g, tmp, slots, lr, t):
            pass

        made.append((Twice, noop))
    (first, _), (second, noop_again) = made
    assert first is not second and getattr(IMPLEMENTATIONS["ApiTwice"], "user", None) is second
    assert UPDATERS.get("ApiNoop").step is noop_again

    class Other(singa.NumpyLayer):
        def forward(self, inputs):
            return inputs[0]

    with pytest.raises(ValueError, match="layer kind ApiTwice has two implementations: Twice and Other"):
        singa.register_layer("ApiTwice", Other)
