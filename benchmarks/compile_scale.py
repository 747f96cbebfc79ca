"""How long `singac` takes to compile a generated deep net into many partitions.

    python benchmarks/compile_scale.py [--layers 1000] [--partitions 64] [--hybrid-layers 24]
                                       [--hybrid-partitions 64] [--repeats 3]

A chain of inner-product / ReLU layers is compiled, parse included, `--repeats` times per size; the
table shows the median seconds, their range, and microseconds per node of the compiled train graph.
Data nets partition every layer on the batch (partition_dim 0) and grow linearly in layers x partitions.
Hybrid nets alternate partition_dim 0 and 1 every two layers, so that at every batch <-> feature switch
each of the P partitions feeds every other (P^2 bridges and slices): they grow with layers x P^2 and
are measured at fewer layers, up to `--hybrid-partitions` (64 partitions and 24 layers: about 10 s a
compile, 165,000 nodes).
"""
from __future__ import annotations

import argparse
import gc
import statistics
import time
from pathlib import Path

from singac import compile_job
from singac.parse import parse_job_text
from singac.source import Source

ROOT = Path(__file__).resolve().parent.parent


def job_text(layers: int, partitions: int, hybrid: bool) -> str:
    """A net of `layers` layers over `partitions` workers."""
    out = ['name: "scale" train_steps: 1 train_one_batch { alg: kBP } updater { type: kSGD }',
           f'cluster {{ nworkers_per_group: {partitions} nworkers_per_procs: {partitions} workspace: "ws" }}',
           ('neuralnet { layer { name: "data" type: kShardData sharddata_conf { path: "absent" '
            f'batchsize: {partitions * 4} shape: {partitions * 2} }} }}'),
           'layer { name: "label" type: kLabel srclayers: "data" }',
           'layer { name: "l0" type: kMnist srclayers: "data" }']
    for i in range(1, layers - 3):
        kind = "kInnerProduct" if i % 2 else "kReLU"
        dim = 1 if hybrid and (i // 2) % 2 else 0
        conf = f"innerproduct_conf {{ num_output: {partitions * 2} }}" if kind == "kInnerProduct" else ""
        out.append(f'layer {{ name: "l{i}" type: {kind} srclayers: "l{i - 1}" partition_dim: {dim} {conf} }}')
    out.append(f'layer {{ name: "loss" type: kSoftmaxLoss srclayers: "l{layers - 4}" srclayers: "label" }}')
    return "\n".join(out) + " }"


def compile_seconds(layers: int, partitions: int, hybrid: bool) -> tuple[float, int]:
    """(seconds, nodes in the train graph) for one compile, parse included."""
    text = job_text(layers, partitions, hybrid)
    gc.collect()  # the previous compile's garbage is not this one's
    t = time.perf_counter()
    plan = compile_job(parse_job_text(text, "scale.pbtxt"), Source("scale.pbtxt", text))
    return time.perf_counter() - t, len(plan.graphs[0].nodes)


def sizes(args: argparse.Namespace) -> list[tuple[int, int, bool]]:
    """(layers, partitions, hybrid) of every case, small to large."""
    out = [(layers, parts, False) for layers in (args.layers // 4, args.layers // 2, args.layers)
           for parts in (args.partitions // 4, args.partitions)]
    hp = args.hybrid_partitions
    out += [(args.hybrid_layers // 2, parts, True) for parts in (hp // 8, hp // 4, hp // 2, hp)]
    out += [(args.hybrid_layers, hp, True)]
    return [(layers, max(parts, 1), hybrid) for layers, parts, hybrid in out if layers > 4]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=1000, help="depth of the largest data net")
    ap.add_argument("--partitions", type=int, default=64, help="partitions of the larger data nets")
    ap.add_argument("--hybrid-layers", type=int, default=24, help="depth of the largest hybrid net")
    ap.add_argument("--hybrid-partitions", type=int, default=64, help="partitions of the largest hybrid net")
    ap.add_argument("--repeats", type=int, default=3, help="compiles per size (median and range)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = ap.parse_args()
    header = ["layers", "partitions", "kind", "nodes", "median s", "min-max s", "us / node"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    print(f"compile_scale, {time.strftime('%Y-%m-%d %H:%M')}, {args.repeats} compiles per size\n")
    print("\n".join(lines), flush=True)
    for layers, parts, hybrid in sizes(args):
        runs = [compile_seconds(layers, parts, hybrid) for _ in range(args.repeats)]
        secs, nodes = [s for s, _ in runs], runs[0][1]
        med = statistics.median(secs)
        row = [str(layers), str(parts), "hybrid" if hybrid else "data", str(nodes), f"{med:.3f}",
               f"{min(secs):.3f}-{max(secs):.3f}", f"{1e6 * med / nodes:.1f}"]
        lines.append("| " + " | ".join(row) + " |")
        print(lines[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"compile_scale-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text("\n".join(lines) + "\n")
    print(f"\nwritten: {path.name} in {args.out.name}/")


if __name__ == "__main__":
    main()
