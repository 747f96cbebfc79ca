"""The RBM chain's report: a markdown table of the test curves (each RBM's reconstruction `Squared Error`,
the auto-encoder's `loss`) read from the event files every run writes, and a PNG of test digits (top row)
over their reconstructions by the fine-tuned auto-encoder (bottom row).

    python examples/rbm/report.py                            # the full chain's workspaces, examples/rbm/*
    python examples/rbm/report.py --work examples/rbm/quick  # after run_chain.py --steps N

Run it from the repository root, as run_chain.py: the job files name the data shards relative to it. The
reconstructions come from the runtime itself (the auto-encoder's test net, run by its executor over the
newest checkpoint's params), so the picture shows what the trained job computes, not a re-implementation.
"""
from __future__ import annotations

import argparse
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from singa import Job
from singa_proto import job_pb2
from singa_spec import SingaError
from singa_spec.files import write_atomic
from singart.connection import Channels
from singart.events import read_scalars
from singart.executor import Executor
from singart.sample import newest_params
from singart.store import build
from singart.train import find_graph

JOBS = ("rbm1", "rbm2", "rbm3", "rbm4", "autoencoder")
# the test metric each job's curve shows: the RBMs' reconstruction error, the auto-encoder's loss
CURVES = {"rbm1": "Squared Error", "rbm2": "Squared Error", "rbm3": "Squared Error", "rbm4": "Squared Error",
          "autoencoder": "loss"}
SIDE = 28  # an MNIST digit is SIDE x SIDE pixels
GAP = 2  # background pixels around each digit in the picture


def curve(workspace: Path, metric: str) -> dict[int, float]:
    """{step: value} of the test `metric` in a workspace's event files (a later run's value wins)."""
    folder = workspace / "events"
    if not folder.is_dir():
        raise SingaError(f"{folder}: no event files (run the chain first)")
    return {step: value for tag, step, value in read_scalars(folder) if tag == f"Test/{metric}"}


def curves(work: Path) -> dict[str, dict[int, float]]:
    """Each job's test curve, from its workspace `work`/<job> (run_chain.py's layout)."""
    return {job: curve(work / job, CURVES[job]) for job in JOBS}


def table(found: dict[str, dict[int, float]]) -> str:
    """A markdown table: one row per test step, one column per job (blank where it did not test)."""
    head = [f"{job} {CURVES[job]}" for job in JOBS]
    lines = ["| step | " + " | ".join(head) + " |", "|---:|" + "---:|" * len(head)]
    for step in sorted({s for c in found.values() for s in c}):
        cells = [f"{found[job][step]:.4g}" if step in found[job] else "" for job in JOBS]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def reconstruct(work: Path, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The first `n` test digits, their reconstructions by the auto-encoder's newest checkpoint, and its
    step: the job's test net run forward once by the runtime's executor."""
    plan = Job.from_file(work / "autoencoder.pbtxt").compile()
    graph = find_graph(plan, job_pb2.kTest)
    if graph is None:
        raise SingaError(f"{work / 'autoencoder.pbtxt'}: the job has no test net")
    workers = {node.worker for node in graph.nodes}
    if len(workers) != 1:
        raise SingaError(f"{work / 'autoencoder.pbtxt'}: the report runs a one-worker test net, not {len(workers)}")
    store, _ = build(plan, None)
    step, saved = newest_params(str(work / "autoencoder"))
    for name, value in store.values.items():
        if name not in saved:
            raise SingaError(f"{work / 'autoencoder'}: step {step} has no param {name}")
        np.copyto(value, saved[name])
    outs = Executor(graph, workers.pop(), store, Channels(), plan.job.seed, train=False).forward(step)
    loss = next(node for node in graph.nodes if node.conf.type == job_pb2.kEuclideanLoss)
    recon, digits = (np.asarray(outs[src]) for src in loss.srcs)  # the loss compares output to input
    return digits[:n].reshape(-1, SIDE, SIDE), recon[:n].reshape(-1, SIDE, SIDE), step


def grid(rows: list[np.ndarray], zoom: int) -> np.ndarray:
    """One picture (uint8) of rows of SIDE x SIDE tiles in [0, 1], each with a GAP border, zoomed."""
    cell = SIDE + 2 * GAP
    out = np.zeros((len(rows) * cell, max(len(r) for r in rows) * cell), np.float32)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            out[i * cell + GAP:i * cell + GAP + SIDE, j * cell + GAP:j * cell + GAP + SIDE] = tile
    pixels = np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)
    return pixels.repeat(zoom, axis=0).repeat(zoom, axis=1)


def png(pixels: np.ndarray) -> bytes:
    """An 8-bit grayscale PNG of a (height, width) uint8 array (no PNG library is a dependency)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    height, width = pixels.shape
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # depth 8, grayscale, no interlace
    rows = b"".join(b"\x00" + row.tobytes() for row in np.ascontiguousarray(pixels, np.uint8))  # filter 0
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path("examples/rbm"),
                   help="the folder holding the job files and their workspaces (run_chain.py's --work)")
    p.add_argument("--png", type=Path, help="where the picture goes (default: WORK/reconstructions.png)")
    p.add_argument("--table", type=Path, help="write the table there too (it is always printed)")
    p.add_argument("-n", type=int, default=10, help="how many test digits the picture shows")
    p.add_argument("--zoom", type=int, default=2, help="pixels per digit pixel in the picture")
    args = p.parse_args(argv)
    try:
        text = table(curves(args.work))
        digits, recon, step = reconstruct(args.work, args.n)
        out = args.png or args.work / "reconstructions.png"
        write_atomic(out, png(grid([digits, recon], args.zoom)))
        if args.table:
            write_atomic(args.table, text.encode())
    except (SingaError, OSError) as err:
        print(f"report.py: {err}", file=sys.stderr)
        return 2
    print(text, end="")
    print(f"{out}: {len(digits)} test digits over their reconstructions at step {step}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
