"""A tiny recurrent language model job over a shard of token windows, for the BPTT tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from singart.data.convert import write_image_shard

VOCAB, EMBED, HIDDEN, TIME, BATCH = 7, 4, 5, 3, 4


def windows(count: int = 16, seed: int = 3) -> np.ndarray:
    """`count` windows of TIME + 1 token ids each."""
    return np.random.default_rng(seed).integers(0, VOCAB, (count, TIME + 1), dtype=np.uint8)


def write_windows(folder: Path) -> str:
    """A shard of windows() as records (the ids as a record's values)."""
    ids = windows()
    write_image_shard(str(folder), ids, np.zeros(len(ids), np.int64), interval=1e9)
    return str(folder)


def lm_job(shard: str, ws: Path, kind: str = "kGRU", n: int = 1, steps: int = 2, alg: str = "kBPTT",
           lr: float = 0.1, updater: str = "", cluster: str = "", job: str = "",
           recurrent_bias: bool = False) -> str:
    """tokens -> embedding -> recurrent (unrolled over TIME) -> inner product (VOCAB) -> softmax loss;
    `updater` and `cluster` are more fields of those messages, `job` more fields of the job's;
    `recurrent_bias`: the recurrent layer has its second bias, param "bh"."""
    uniform = "init { type: kUniform low: -0.5 high: 0.5 }"
    second = "recurrent_bias: true" if recurrent_bias else ""
    bh = f'param {{ name: "bh" {uniform} }}' if recurrent_bias else ""
    return f"""name: "lm"
train_steps: {steps}
disp_freq: 1
seed: 5
{job}
train_one_batch {{ alg: {alg} }}
updater {{ type: kSGD learning_rate {{ type: kFixed base_lr: {lr} }} {updater} }}
cluster {{ nworkers_per_group: {n} workspace: "{ws}" {cluster} }}
neuralnet {{
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "{shard}" batchsize: {BATCH} }} }}
  layer {{ name: "ids" type: kTokens srclayers: "data" }}
  layer {{ name: "next" type: kTokens srclayers: "data" tokens_conf {{ next: true }} }}
  layer {{ name: "embed" type: kEmbedding srclayers: "ids"
          embedding_conf {{ vocab_size: {VOCAB} word_dim: {EMBED} }} param {{ name: "e" {uniform} }} }}
  layer {{ name: "rnn" type: {kind} srclayers: "embed" unroll_len: {TIME} rnn_conf {{ dim: {HIDDEN} {second} }}
          param {{ name: "wx" {uniform} }} param {{ name: "wh" {uniform} }} param {{ name: "b" {uniform} }} {bh} }}
  layer {{ name: "out" type: kInnerProduct srclayers: "rnn" innerproduct_conf {{ num_output: {VOCAB} }}
          param {{ name: "w" {uniform} }} param {{ name: "bo" {uniform} }} }}
  layer {{ name: "loss" type: kSoftmaxLoss srclayers: "out" srclayers: "next" }}
}}
"""
