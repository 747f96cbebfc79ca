"""The compiler pipeline: one ordered tuple of passes, and the runner that applies it to a phase."""
from __future__ import annotations

from collections.abc import Callable

import networkx as nx

from . import debug
from .check import CheckError, check_graph
from .errors import SingaError
from .passes.assign_params import assign_params
from .passes.infer_shapes import infer_shapes
from .passes.insert_bridges import insert_bridges
from .passes.insert_slices import insert_slices
from .passes.insert_splits import insert_splits
from .passes.partition_layers import partition_layers
from .passes.place import place
from .passes.slice_params import slice_params
from .passes.unroll import unroll

Pass = Callable[[nx.DiGraph], nx.DiGraph]

PASSES: tuple[Pass, ...] = (
    infer_shapes,      # every later pass cuts blocks out of full shapes
    unroll,            # needs the time steps (shapes); before partitioning, which treats copies as layers
    partition_layers,  # replicas and blocks per worker; edges say which block each consumer needs
    insert_splits,     # before slices: a producer with several consumers hands one tensor to all
    insert_slices,     # cut and join blocks until every consumer gets exactly the block it needs
    insert_bridges,    # after all surgery: whatever edge still crosses workers gets a bridge pair
    assign_params,     # after partitioning, so feature partitions get their blocks of each param
    slice_params,      # needs the final param table; balances param slices over servers
    place,             # last: the rank -> role table depends only on the cluster
)


def run_passes(g: nx.DiGraph, passes: tuple[Pass, ...] = PASSES, check: bool | None = None) -> nx.DiGraph:
    """Apply the passes in order; with checking on, verify the graph after each and name the pass."""
    check = debug.CHECK if check is None else check
    for p in passes:
        try:
            g = p(g)
        except SingaError:
            raise
        except Exception as e:  # a compiler bug: say which pass, keep the cause for SINGAC_DEBUG
            raise RuntimeError(f"pass {p.__name__}: {type(e).__name__}: {e}") from e
        if check:
            try:
                check_graph(g)
            except CheckError as e:
                raise SingaError(f"internal error after pass {p.__name__}: {e}") from None
    return g
