"""How long `singac` takes to compile a generated deep net into many partitions.

A chain of inner-product / ReLU layers (half of them feature-partitioned, half batch-partitioned, so
the compiler inserts slices, concats, splits and bridges) is compiled for several depths and worker
counts; the table shows seconds and seconds per (layer x partition), which stays flat when growth is
linear. Run: python benchmarks/compile_scale.py [--layers 1000] [--partitions 64]
"""
from __future__ import annotations

import argparse
import time

from singac import compile_job
from singac.parse import parse_job_text
from singac.source import Source


def job_text(layers: int, partitions: int, hybrid: bool) -> str:
    """A net of `layers` layers over `partitions` workers."""
    out = ['name: "scale" train_steps: 1 train_one_batch { alg: kBP } updater { type: kSGD }',
           f'cluster {{ nworkers_per_group: {partitions} workspace: "ws" }}',
           ('neuralnet { layer { name: "data" type: kShardData sharddata_conf { path: "absent" '
            f'batchsize: {partitions * 4} shape: {partitions * 2} }} }}'),
           'layer { name: "label" type: kLabel srclayers: "data" }',
           'layer { name: "l0" type: kMnist srclayers: "data" }']
    for i in range(1, layers - 3):
        kind = "kInnerProduct" if i % 2 else "kReLU"
        dim = 1 if hybrid and (i // 2) % 2 else 0
        conf = f"innerproduct_conf {{ num_output: {partitions * 2} }}" if kind == "kInnerProduct" else ""
        out.append(f'layer {{ name: "l{i}" type: {kind} srclayers: "l{i - 1}" partition_dim: {dim} {conf} }}')
    out.append(f'layer {{ name: "loss" type: kSoftmaxLoss srclayers: "l{layers - 4}" srclayers: "label" }} }}')
    return "\n".join(out)


def compile_seconds(layers: int, partitions: int, hybrid: bool) -> tuple[float, int]:
    """(seconds, nodes in the train graph) for one compile, parse included."""
    text = job_text(layers, partitions, hybrid)
    t = time.perf_counter()
    plan = compile_job(parse_job_text(text, "scale.pbtxt"), Source("scale.pbtxt", text))
    return time.perf_counter() - t, len(plan.graphs[0].nodes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=1000)
    ap.add_argument("--partitions", type=int, default=64)
    ap.add_argument("--hybrid-partitions", type=int, default=8,
                    help="hybrid nets exchange all-to-all at every batch/feature switch (partitions^2 "
                    "bridges), so they are measured at fewer partitions")
    args = ap.parse_args()
    print(f"{'layers':>7} {'parts':>6} {'kind':>7} {'nodes':>8} {'seconds':>8} {'us/(layer*part)':>16}")
    for layers in (args.layers // 4, args.layers // 2, args.layers):
        for parts, hybrid in ((args.partitions // 4, False), (args.partitions, False),
                              (args.hybrid_partitions // 2, True), (args.hybrid_partitions, True)):
            secs, nodes = compile_seconds(layers, parts, hybrid)
            kind = "hybrid" if hybrid else "data"
            print(f"{layers:>7} {parts:>6} {kind:>7} {nodes:>8} {secs:>8.2f} "
                  f"{1e6 * secs / (layers * parts):>16.1f}", flush=True)


if __name__ == "__main__":
    main()
