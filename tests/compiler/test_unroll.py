"""The unroll pass: a recurrent layer becomes one copy per time step, sharing its params, chained by
state, joined by a kStack under the layer's name; a wrong unroll_len is one line naming the layer."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from singac.passes.infer_shapes import infer_shapes
from singac.passes.unroll import unroll
from singac.pipeline import run_passes

from . import jobs
from .test_passes import graph_of


@pytest.mark.parametrize("kind, width", [("kRNN", 5), ("kGRU", 5), ("kLSTM", 10)])
def test_copies_chain_state_and_stack_under_the_layer_name(kind: str, width: int) -> None:
    g = unroll(infer_shapes(graph_of(jobs.lm(1, kind))))
    copies = [f"rnn~{t:02d}" for t in range(3)]
    for t, c in enumerate(copies):
        d = g.nodes[c]
        assert (d["type"], d["origin"], d["conf"].unroll_step, d["shape"]) == (kind, "rnn", t + 1, (4, width))
        srcs = sorted(g.predecessors(c), key=lambda s: g.edges[s, c]["slot"])
        assert srcs == ["embed"] + copies[t - 1:t] if t else srcs == ["embed"]
    stack = g.nodes["rnn"]
    assert (stack["type"], stack["shape"], len(stack["conf"].param)) == ("kStack", (12, 5), 0)
    assert sorted(g.predecessors("rnn"), key=lambda s: g.edges[s, "rnn"]["slot"]) == copies
    assert list(g.successors("rnn")) == ["out"]
    assert unroll(g) is g  # nothing left to unroll


def test_copies_share_the_layers_params_and_the_stack_has_none() -> None:
    g = run_passes(graph_of(jobs.lm(2)), check=True)
    uses = {n: [p for _, p, _ in d["params"]] for n, d in g.nodes(data=True)
            if d["kind"] == "compute" and d["origin"] == "rnn"}
    copies = {n for n in uses if "~" in n}
    assert len(copies) == 6  # three steps, two batch partitions each
    assert all(uses[n] == ["wx", "wh", "b"] for n in copies)
    assert uses["rnn"] == []
    assert g.graph["params"]["wx"]["shape"] == (15, 4)
    # records cannot cross processes: the data layer runs whole where its kTokens parsers do
    assert {n for n in g if n.startswith(("data", "ids", "next")) and g.nodes[n]["kind"] == "compute"} == {
        "data", "ids", "next"}
    assert g.nodes["data"]["worker"] == g.nodes["ids"]["worker"] == g.nodes["next"]["worker"] == 0


def test_unroll_len_that_disagrees_with_the_input_is_one_line(tmp_path: Path) -> None:
    job = tmp_path / "job.pbtxt"
    job.write_text(jobs.lm(1, unroll=5))
    singac = str(Path(sys.executable).parent / "singac")
    r = subprocess.run([singac, "compile", str(job), "-o", str(tmp_path / "p")],
                       check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert "rnn" in r.stderr and "unroll_len is 5" in r.stderr and "3 time steps" in r.stderr
