"""`singart sample PLAN --prime TEXT -n N [--temperature T]`: text from a char-rnn job's newest checkpoint."""
from __future__ import annotations

import argparse
import importlib
import sys

import numpy as np

from . import SingaError
from .sample import GruCell, char_rnn_params, gru_language_model, newest_params, sample_ids, vocab_path

# the runtime's kGRU cell: the same math the layer trains with, one function of plain arrays
GRU_CELL = ("singart.rnn_ops", "gru_forward")  # the fused cell kGRU trains with


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


def gru_cell() -> GruCell:
    """The runtime's GRU cell function; a build without one says so."""
    module, name = GRU_CELL
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        raise SingaError(f"this build has no GRU cell ({module}.{name}); sampling needs kGRU") from None


def run_sample(args: argparse.Namespace) -> int:
    """Print the prime and the generated text on stdout."""
    from singa_spec.plans import read_plan

    from .data.text import read_vocab

    if args.n < 0 or args.temperature < 0:
        raise SingaError("-n and --temperature must not be negative")
    plan = read_plan(args.plan)
    vocab = read_vocab(args.vocab or vocab_path(plan))
    index = {c: i for i, c in enumerate(vocab)}
    unknown = next((c for c in args.prime if c not in index), None)
    if unknown is not None:
        raise SingaError(f"--prime: character {unknown!r} is not in the vocabulary")
    step_no, values = newest_params(plan.job.cluster.workspace)
    params, transpose = char_rnn_params(plan, values)
    step, state = gru_language_model(params, gru_cell(), transpose)
    ids = sample_ids(step, state, [index[c] for c in args.prime], args.n, args.temperature,
                     np.random.default_rng(args.seed))
    print(f"singart: sampling from checkpoint step {step_no}", file=sys.stderr)
    print(args.prime + "".join(vocab[i] for i in ids))
    return 0
