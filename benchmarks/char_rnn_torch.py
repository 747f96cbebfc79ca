"""The PyTorch baseline of examples/char-rnn: embedding -> GRU -> linear, trained on the same shards.

    singart data text -o examples/char-rnn/data
    python benchmarks/char_rnn_torch.py --job examples/char-rnn/job.pbtxt [--steps 300]

It takes the net and the training settings from the job file (JOB_TO_TORCH below), so the two runs
train the same net the same way: the shard folder (beside the train shard), batchsize, word_dim,
unroll_len (checked against the shards' windows), the GRU's dim and recurrent_bias (without it, PyTorch's
b_hh is held at zero), the updater (kAdam -> torch.optim.Adam with beta1, beta2 and delta as eps;
kSGD -> torch.optim.SGD with momentum and weight_decay), base_lr (kFixed), seed, train_steps,
disp_freq, validate_freq and validate_steps. Initial values are PyTorch's own (same distributions as
the job's: N(0, 1) embedding, U(+-1/sqrt(dim)) elsewhere), drawn from the job's seed.

It reads text_train_shard and text_valid_shard through singart's own shard reader and takes batches as
kShardData does (batchsize consecutive records, wrapping at the end; random_skip 0), so that with
batchsize = the shards' streams row b of each batch goes on from row b of the last and the GRU state is
carried across batches without gradient (truncated BPTT), as the kBPTT job does. Validation runs
validate_steps batches from the start of the validation shard, from a zero state carried across the
run's batches, as singart's kBPTT evaluation does. Prints `loss` and `ppl` (exp of the mean cross-entropy per character)
in singart's log format, so the two logs can be set side by side.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from typing import Any

import numpy as np
import torch
from google.protobuf import text_format
from singa_proto import job_pb2
from singart.data.records import ShardArrays, load_shard
from singart.data.text import SHARDS, VOCAB_FILE, read_vocab
from torch import nn


class CharRNN(nn.Module):
    """embedding (vocab, dim) -> GRU (hidden) -> linear (vocab), over [batch, time] ids."""

    def __init__(self, vocab: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, ids: torch.Tensor, h: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        y, h = self.gru(self.embed(ids), h)
        return self.out(y), h


def read_job(path: str) -> job_pb2.JobProto:
    """The job file as singac parses it (text_format over the shared schema)."""
    with open(path) as f:
        return text_format.Parse(f.read(), job_pb2.JobProto())


def _layer(job: job_pb2.JobProto, kind: int, phase: int = job_pb2.kTrain) -> Any:
    """The first layer of `kind` that the phase keeps."""
    return next(lay for lay in job.neuralnet.layer if lay.type == kind and phase not in lay.exclude)


def settings(job: job_pb2.JobProto) -> dict[str, Any]:
    """JOB_TO_TORCH: this script's settings from the job's fields."""
    shard = _layer(job, job_pb2.kShardData).sharddata_conf
    up = job.updater
    if up.learning_rate.type != job_pb2.kFixed or up.type not in (job_pb2.kAdam, job_pb2.kSGD):
        raise SystemExit("char_rnn_torch.py: the job must use kAdam or kSGD with a kFixed learning rate "
                         "(the only settings it maps to torch.optim)")
    return {
        "data": os.path.dirname(shard.path), "batchsize": shard.batchsize,
        "dim": _layer(job, job_pb2.kEmbedding).embedding_conf.word_dim,
        "hidden": _layer(job, job_pb2.kGRU).rnn_conf.dim, "unroll": _layer(job, job_pb2.kGRU).unroll_len,
        "recurrent_bias": _layer(job, job_pb2.kGRU).rnn_conf.recurrent_bias,
        "updater": {job_pb2.kAdam: "adam", job_pb2.kSGD: "sgd"}[up.type], "lr": up.learning_rate.base_lr,
        "betas": (up.adam_conf.beta1, up.adam_conf.beta2), "eps": up.delta, "momentum": up.momentum,
        "weight_decay": up.weight_decay, "clip": up.clip_norm, "seed": job.seed,
        "steps": job.train_steps, "disp_freq": job.disp_freq or 50, "valid_freq": job.validate_freq,
        "valid_steps": job.validate_steps,
    }


def batch(shard: ShardArrays, k: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch k as kShardData reads it: ids [size, T] (kTokens) and next ids [size, T] (kTokens with
    next: true, flattened there)."""
    windows = torch.from_numpy(shard.take((k * size) % len(shard), size).images.astype(np.int64))
    return windows[:, :-1], windows[:, 1:]


def validate(model: CharRNN, shard: ShardArrays, size: int, steps: int) -> float:
    """Mean cross-entropy per character over `steps` batches from the shard's start, the state carried
    from batch to batch from zeros (as kBPTT's evaluation does)."""
    total, count = 0.0, 0
    h = None
    with torch.no_grad():
        for k in range(steps):
            x, y = batch(shard, k, size)
            logits, h = model(x, h)
            total += nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
            count += y.numel()
    return total / max(count, 1)


def optimizer(model: nn.Module, a: argparse.Namespace) -> torch.optim.Optimizer:
    """The job's updater as a torch optimizer."""
    if a.updater == "adam":
        return torch.optim.Adam(model.parameters(), lr=a.lr, betas=a.betas, eps=a.eps,
                                weight_decay=a.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay)


def train(a: argparse.Namespace) -> None:
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    vocab = read_vocab(os.path.join(a.data, VOCAB_FILE))
    train_shard, valid_shard = (load_shard(os.path.join(a.data, name)) for name in SHARDS)
    if batch(train_shard, 0, 1)[0].shape[1] != a.unroll:
        raise SystemExit(f"char_rnn_torch.py: the shards hold windows of {batch(train_shard, 0, 1)[0].shape[1]} "
                         f"steps, the job unrolls {a.unroll}")
    model = CharRNN(len(vocab), a.dim, a.hidden)
    if not a.recurrent_bias:  # the job's GRU has no b_hh: PyTorch's stays zero and untrained
        model.gru.bias_hh_l0.requires_grad_(False).zero_()
    opt = optimizer(model, a)
    h, sums, began = None, [0.0, 0], time.monotonic()
    for step in range(a.steps):
        if a.valid_freq and step % a.valid_freq == 0:  # as singart: before training step `step`
            mean = validate(model, valid_shard, a.batchsize, a.valid_steps)
            print(f"Validation @ step {step}: loss = {mean:.6g}, ppl = {math.exp(mean):.6g}", flush=True)
        x, y = batch(train_shard, step, a.batchsize)
        logits, h = model(x, h)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())  # mean over steps and rows
        opt.zero_grad()
        loss.backward()
        if a.clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        h = h.detach()  # truncated BPTT: the state goes on, its gradient stops at the window
        sums = [sums[0] + loss.item() * y.numel(), sums[1] + y.numel()]
        if step % a.disp_freq == 0:  # as singart: after step `step`, the mean since the last line
            mean = sums[0] / sums[1]
            print(f"Train @ step {step}: loss = {mean:.6g}, ppl = {math.exp(mean):.6g} "
                  f"({(time.monotonic() - began) * 1000 / (step + 1):.0f} ms/step)", flush=True)
            sums = [0.0, 0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--job", default="examples/char-rnn/job.pbtxt", help="the job file to take the settings of")
    p.add_argument("--steps", type=int, help="train steps (default: the job's train_steps)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    a = p.parse_args()
    job = settings(read_job(a.job))
    job["steps"] = a.steps or job["steps"]
    train(argparse.Namespace(**job, threads=a.threads))


if __name__ == "__main__":
    main()
