"""Sampling text: the loop against a step function, a GRU language model checked against PyTorch, and
`singart sample` as a real process on a compiled plan and a checkpoint written here."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import singac
import torch
from singa_spec.plans import read_plan, seal, write_plan
from singart import checkpoint, manifests
from singart.data.text import VOCAB_FILE, convert_text, read_vocab
from singart.rnn_ops import gru_forward as gru  # the runtime's fused cell, which `singart sample` uses
from singart.sample import char_rnn_params, draw, gru_language_model, newest_params, sample_ids

V, D, H = 7, 5, 6


def _params(rng: np.random.Generator, v: int = V) -> dict[str, np.ndarray]:
    shapes = {"embedding": (v, D), "weight_x": (3 * H, D), "weight_h": (3 * H, H), "bias": (3 * H,),
              "bias_h": (3 * H,), "out_weight": (v, H), "out_bias": (v,)}
    return {k: rng.normal(0, 0.5, s).astype(np.float32) for k, s in shapes.items()}


def test_the_model_matches_torch_gru_over_the_prime() -> None:
    p = _params(np.random.default_rng(0))
    step, h = gru_language_model(p, gru)
    prime = [3, 1, 4, 1, 5]
    for i in prime:
        logits, h = step(i, h)
    cell = torch.nn.GRU(D, H, batch_first=True)
    with torch.no_grad():
        cell.weight_ih_l0.copy_(torch.from_numpy(p["weight_x"]))
        cell.weight_hh_l0.copy_(torch.from_numpy(p["weight_h"]))
        cell.bias_ih_l0.copy_(torch.from_numpy(p["bias"]))
        cell.bias_hh_l0.copy_(torch.from_numpy(p["bias_h"]))
        out, _ = cell(torch.from_numpy(p["embedding"][prime])[None])
        want = out[0, -1].numpy() @ p["out_weight"].T + p["out_bias"]
    np.testing.assert_allclose(logits, want, rtol=1e-5, atol=1e-5)


def test_temperature_zero_follows_the_likeliest_chain() -> None:
    def cycle(last: int, state: int) -> tuple[np.ndarray, int]:
        return np.eye(V)[(last + 1) % V] * 3.0, state + 1  # the next id is the likeliest

    ids = sample_ids(cycle, 0, [2, 5], 9, 0.0, np.random.default_rng(0))
    assert ids == [(6 + i) % V for i in range(9)]


def test_draws_follow_softmax_of_logits_over_temperature() -> None:
    logits, rng = np.array([1.0, 0.0, -1.0, 2.0]), np.random.default_rng(1)
    for t in (0.5, 1.0, 2.0):
        counts = np.bincount([draw(logits, t, rng) for _ in range(20000)], minlength=4) / 20000
        want = np.exp(logits / t) / np.exp(logits / t).sum()
        np.testing.assert_allclose(counts, want, atol=0.015)


def test_an_empty_prime_is_refused() -> None:
    with pytest.raises(Exception, match="--prime"):
        sample_ids(lambda i, s: (np.zeros(V), s), None, [], 3, 1.0, np.random.default_rng(0))


JOB = """name: "sample-gru"
train_steps: 1
train_one_batch {{ alg: kBP }}
updater {{ type: kSGD learning_rate {{ type: kFixed base_lr: 0.1 }} }}
cluster {{ workspace: "{ws}" }}
neuralnet {{
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "{data}/text_train_shard" batchsize: 4 }} }}
  layer {{ name: "chars" type: kTokens srclayers: "data" }}
  layer {{ name: "label" type: kLabel srclayers: "data" }}
  layer {{ name: "embed" type: kEmbedding srclayers: "chars" embedding_conf {{ vocab_size: {v} word_dim: {d} }}
    param {{ name: "emb" }} }}
  layer {{ name: "gru" type: kGRU srclayers: "embed" rnn_conf {{ dim: {h} recurrent_bias: true }}
    param {{ name: "wx" }} param {{ name: "wh" }} param {{ name: "b" }} param {{ name: "bh" }} }}
  layer {{ name: "ip" type: kInnerProduct srclayers: "gru" innerproduct_conf {{ num_output: {v} }}
    param {{ name: "wo" }} param {{ name: "bo" }} }}
  layer {{ name: "loss" type: kSoftmaxLoss srclayers: "ip" srclayers: "label" }}
}}
"""
NAMES = {"embedding": "emb", "weight_x": "wx", "weight_h": "wh", "bias": "b", "bias_h": "bh", "out_weight": "wo",
         "out_bias": "bo"}
RUN = "import sys; from singart.cli import main; sys.exit(main(sys.argv[1:]))"  # a real `singart sample`


@pytest.fixture
def trained(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """A compiled GRU language model plan and a checkpoint of random params at step 3."""
    data = tmp_path / "data"
    convert_text("the cat sat on the mat. " * 20, str(data), 1, 4, 0.2, "t")
    v = len(read_vocab(str(data / VOCAB_FILE)))
    src = tmp_path / "job.pbtxt"
    src.write_text(JOB.format(ws=tmp_path / "ws", data=data, v=v, d=D, h=H))
    plan = tmp_path / "job.plan"
    write_plan(seal(singac.compile_file(str(src))), plan)
    p = _params(np.random.default_rng(2), v)
    folder = tmp_path / "ws" / "checkpoint"
    path = checkpoint.save(folder, 3, 0, {NAMES[k]: a for k, a in p.items()}, {})
    manifests.mark_done(folder, 3, [path])
    return plan, p


def _sample(plan: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", RUN, "sample", str(plan), *args], check=False,
                          capture_output=True, text=True, timeout=120)


def test_sample_command_generates_from_the_newest_checkpoint(trained) -> None:
    plan, p = trained
    step, values = newest_params(str(read_plan(plan).job.cluster.workspace))
    params, transpose = char_rnn_params(read_plan(plan), values)
    assert step == 3 and not transpose and all(np.array_equal(params[k], p[k]) for k in p)
    proc = _sample(plan, "--prime", "the ", "-n", "40", "--temperature", "0.8", "--seed", "5")
    assert proc.returncode == 0, proc.stderr
    vocab = read_vocab(str(plan.parent / "data" / VOCAB_FILE))
    model, h = gru_language_model(p, gru)
    ids = sample_ids(model, h, [vocab.index(c) for c in "the "], 40, 0.8, np.random.default_rng(5))
    assert proc.stdout == "the " + "".join(vocab[i] for i in ids) + "\n"


@pytest.mark.parametrize(("args", "words"), [
    (["--prime", "The "], ["--prime", "'T' is not in the vocabulary"]),
    (["-n", "-1"], ["must not be negative"]),
])
def test_bad_sample_arguments_are_one_line(trained, args: list[str], words: list[str]) -> None:
    proc = _sample(trained[0], *args)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert all(w in proc.stderr for w in words), proc.stderr


def test_a_vocabulary_of_another_size_is_refused(trained, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"chars": ["t", "h", "e", " "]}')
    proc = _sample(trained[0], "--prime", "the ", "--vocab", str(other))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "4 characters, but the model's embedding has" in proc.stderr and "--vocab" in proc.stderr


def test_sampling_without_a_checkpoint_says_so(trained) -> None:
    plan, _ = trained
    for f in (plan.parent / "ws" / "checkpoint").iterdir():
        f.unlink()
    proc = _sample(plan, "--prime", "the ")
    assert proc.returncode == 2 and "no complete checkpoint" in proc.stderr, proc.stderr
