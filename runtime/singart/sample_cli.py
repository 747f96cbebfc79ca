"""`singart sample PLAN --prime TEXT -n N [--temperature T]`: text from a char-rnn job's newest checkpoint."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from . import SingaError
from .sample import char_rnn_params, gru_language_model, newest_params, sample_ids, vocab_path

# the runtime's kGRU cell: the same math the layer trains with, one function of plain arrays


def add_sample_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `sample` on the singart command line."""
    p = subparsers.add_parser("sample", help="generate text from a trained character-level GRU model",
                              description="Load the newest checkpoint in the plan's workspace, feed the "
                                          "prime text, then draw characters one at a time.")
    p.add_argument("plan", metavar="PLAN", help="the plan the model was trained with")
    p.add_argument("--prime", default="The ", help='text to start from (default "The ")')
    p.add_argument("-n", type=int, default=200, help="characters to generate (default 200)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="below 1 safer, above 1 wilder; 0 always takes the likeliest (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    p.add_argument("--vocab", metavar="FILE", help="vocab.json (default: beside the train shard)")
    p.set_defaults(func=run_sample)
    return p


def run_sample(args: argparse.Namespace) -> int:
    """Print the prime and the generated text on stdout."""
    from singa_spec.plans import read_plan

    from .data.shard import ShardError
    from .data.text import encode, read_vocab
    from .rnn_ops import gru_forward  # the fused cell kGRU trains with

    if args.n < 0 or args.temperature < 0:
        raise SingaError("-n and --temperature must not be negative")
    plan = read_plan(args.plan)
    vocab_file = args.vocab or vocab_path(plan)
    vocab = read_vocab(vocab_file)
    try:
        prime = [int(i) for i in encode(args.prime, vocab, "--prime")]
    except ShardError as err:
        raise SingaError(str(err)) from None
    step_no, values = newest_params(plan.job.cluster.workspace)
    params, transpose = char_rnn_params(plan, values)
    rows = params["embedding"].shape[0]
    if len(vocab) != rows:
        raise SingaError(f"{vocab_file}: {len(vocab)} characters, but the model's embedding has {rows} rows; "
                         "give the vocab.json its shards were made with (--vocab)")
    step, state = gru_language_model(params, gru_forward, transpose)
    ids = sample_ids(step, state, prime, args.n, args.temperature, np.random.default_rng(args.seed))
    print(f"singart: sampling from checkpoint step {step_no}", file=sys.stderr)
    print(args.prime + "".join(vocab[i] for i in ids))
    return 0
