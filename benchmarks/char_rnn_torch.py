"""The PyTorch baseline of examples/char-rnn: embedding -> GRU -> linear, trained on the same shards.

    singart data text -o data/text
    python benchmarks/char_rnn_torch.py --data data/text [--steps 2000] [--updater adam --lr 0.002]

It reads text_train_shard and text_valid_shard through singart's own shard reader and takes batches as
kShardData does (batchsize consecutive records, wrapping at the end; random_skip 0), so that with
batchsize = the shards' streams row b of each batch goes on from row b of the last and the GRU state is
carried across batches without gradient (truncated BPTT), as the kBPTT job does. Prints `loss` and
`ppl` (exp of the mean cross-entropy per character) every --disp-freq steps and the validation
perplexity every --valid-freq steps, in singart's log format, so the two logs can be set side by side.
"""
from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import torch
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


def batch(shard: ShardArrays, k: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch k as kShardData reads it: ids [size, T] (kTokens) and next ids [size, T] (kTokens with next: true, flattened there)."""
    windows = torch.from_numpy(shard.take(k * size, size).images.astype(np.int64))
    return windows[:, :-1], windows[:, 1:]


def validate(model: CharRNN, shard: ShardArrays, size: int) -> float:
    """Mean cross-entropy per character over the whole validation shard, state carried along."""
    total, count, h = 0.0, 0, None
    with torch.no_grad():
        for k in range(len(shard) // size):
            x, y = batch(shard, k, size)
            logits, h = model(x, h)
            total += nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
            count += y.numel()
    return total / max(count, 1)


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    vocab = read_vocab(os.path.join(args.data, VOCAB_FILE))
    train_shard, valid_shard = (load_shard(os.path.join(args.data, name)) for name in SHARDS)
    model = CharRNN(len(vocab), args.dim, args.hidden)
    opt = (torch.optim.Adam(model.parameters(), lr=args.lr) if args.updater == "adam"
           else torch.optim.SGD(model.parameters(), lr=args.lr))
    h, sums, began = None, [0.0, 0], time.monotonic()
    for step in range(args.steps):
        x, y = batch(train_shard, step, args.batchsize)
        logits, h = model(x, h)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())  # mean over steps and rows
        opt.zero_grad()
        loss.backward()
        if args.clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        h = h.detach()  # truncated BPTT: the state goes on, its gradient stops at the window
        sums = [sums[0] + loss.item() * y.numel(), sums[1] + y.numel()]
        if (step + 1) % args.disp_freq == 0:
            mean = sums[0] / sums[1]
            print(f"Train @ step {step + 1}: loss = {mean:.6g}, ppl = {math.exp(mean):.6g} "
                  f"({(time.monotonic() - began) * 1000 / (step + 1):.0f} ms/step)", flush=True)
            sums = [0.0, 0]
        if args.valid_freq and (step + 1) % args.valid_freq == 0:
            mean = validate(model, valid_shard, args.batchsize)
            print(f"Validation @ step {step + 1}: loss = {mean:.6g}, ppl = {math.exp(mean):.6g}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="data/text", help="the folder `singart data text -o` wrote")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batchsize", type=int, default=64, help="the shards' --streams for carried state")
    p.add_argument("--dim", type=int, default=64, help="embedding size")
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--updater", choices=("adam", "sgd"), default="adam")
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--clip", type=float, default=5.0, help="clip the global gradient norm; 0: no clipping")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--disp-freq", type=int, default=50)
    p.add_argument("--valid-freq", type=int, default=500)
    train(p.parse_args())


if __name__ == "__main__":
    main()
