"""Milliseconds per GRU training step, singart's fused cell kernels in a Python loop next to PyTorch's nn.GRU.

    python benchmarks/gru_vs_torch.py [--threads 1 2] [--rounds 5] [--steps 10]

The step: hidden 512, batch 64, an embedded input of 512 per time step, unrolled over 50 steps, forward
over the 50 steps then backward through them (every step's output gets gradient 1, the input none), the
weight gradients zeroed first, as a char-rnn's training step spends them. singart: gru_forward /
gru_backward (rnn_ops) step by step, each step reusing its cache of the window before (as a layer
keeps its buffers). PyTorch, each with its own defaults: nn.GRU eager, nn.GRU under
torch.compile at its defaults (Dynamo then leaves nn.GRU to eager) and with
torch._dynamo.config.allow_rnn set (-rnn: Dynamo compiles it), nn.GRUCell in a Python loop (the same
per-step shape as singart's), and that cell under torch.compile, both ways (compile time is never
timed). Before the rounds, one short window checks that both compute the same gradients.

As benchmarks/step_vs_torch.py: every measurement is its own process (re-executing this file with
--child) at one thread count (OMP_NUM_THREADS, and torch.set_num_threads); the rounds run every
configuration once, the frameworks alternating, every other round in reverse; the report gives, per
configuration, the median of the per-process medians and their range, and the ratio to PyTorch's fastest variant.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stepbench.child import one_line, timed_steps
from stepbench.report import Stat, load_average, machine

HIDDEN, BATCH, INPUT, UNROLL = 512, 64, 512, 50
VARIANTS = ("singart", "torch-gru", "torch-gru-compile", "torch-gru-compile-rnn", "torch-grucell",
            "torch-grucell-compile", "torch-grucell-compile-rnn")
OUT = Path(__file__).resolve().parent / "out"


def weights(seed: int = 0) -> list[Any]:
    """W_ih, W_hh, b_ih, b_hh in PyTorch's layout and scale, and the 50 steps' inputs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    s = HIDDEN ** -0.5
    shapes = [(3 * HIDDEN, INPUT), (3 * HIDDEN, HIDDEN), (3 * HIDDEN,), (3 * HIDDEN,)]
    w = [rng.uniform(-s, s, shape).astype(np.float32) for shape in shapes]
    return w + [rng.standard_normal((UNROLL, BATCH, INPUT)).astype(np.float32)]


def singart_step(unroll: int = UNROLL):  # type: ignore[no-untyped-def]
    """One BPTT window with the cell kernels; returns the step and the gradient buffers it fills."""
    import numpy as np
    from singart import rnn_ops

    *w, xs = weights()
    grads = [np.zeros_like(p) for p in w]
    ones, h0 = np.ones((BATCH, HIDDEN), np.float32), np.zeros((BATCH, HIDDEN), np.float32)
    caches: list = [None] * unroll

    def step(_: int) -> None:
        for g in grads:
            g.fill(0.0)
        h = h0
        for t in range(unroll):
            h, caches[t] = rnn_ops.gru_forward(xs[t], h, *w, reuse=caches[t])
        dh = ones
        for cache in reversed(caches):
            _, dh_prev = rnn_ops.gru_backward(dh, cache, *grads, need_dx=False)
            dh = np.add(dh_prev, ones, out=dh_prev)

    return step, grads


def torch_step(variant: str, threads: int, unroll: int = UNROLL):  # type: ignore[no-untyped-def]
    """One BPTT window of a PyTorch variant; returns the step and the module (its .grad after a step)."""
    import torch

    torch.set_num_threads(threads)
    *w, xs = weights()
    cell = variant.startswith("torch-grucell")
    mod = torch.nn.GRUCell(INPUT, HIDDEN) if cell else torch.nn.GRU(INPUT, HIDDEN)
    with torch.no_grad():
        for p, v in zip(mod.parameters(), w):
            p.copy_(torch.from_numpy(v))
    x = torch.from_numpy(xs[:unroll])
    if variant.endswith("-rnn"):  # Dynamo compiles RNN modules only when told to (off by default)
        torch._dynamo.config.allow_rnn = True
    run = torch.compile(mod) if "-compile" in variant else mod

    def step(_: int) -> None:
        mod.zero_grad(set_to_none=True)
        if cell:
            h, total = torch.zeros(BATCH, HIDDEN), torch.zeros(())
            for t in range(unroll):
                h = run(x[t], h)
                total = total + h.sum()
        else:
            total = run(x)[0].sum()
        total.backward()

    return step, mod


def check() -> str:
    """singart's and nn.GRU's weight gradients over a 5-step window, largest relative difference."""
    import numpy as np

    step, grads = singart_step(5)
    step(0)
    tstep, mod = torch_step("torch-gru", 1, 5)
    tstep(0)
    worst = max(float(np.abs(g - p.grad.numpy()).max() / np.abs(p.grad.numpy()).max())
                for g, p in zip(grads, mod.parameters()))
    if worst > 1e-4:
        raise SystemExit(f"check: singart's gradients differ from nn.GRU's by {worst:.2e} (relative)")
    return f"check: weight gradients equal nn.GRU's to {worst:.1e} (relative, 5 steps)"


def child(spec: dict[str, Any]) -> None:
    """Measure one variant at one thread count in this process; print one JSON line."""
    try:
        if spec["variant"] == "singart":
            from singart import ops

            ops.set_num_threads(spec["threads"])
            step = singart_step()[0]
        else:
            step = torch_step(spec["variant"], spec["threads"])[0]
        result: dict[str, Any] = timed_steps(step, spec["warmup"], spec["steps"])
    except Exception as err:  # noqa: BLE001 -- a variant that fails is a result, not a crash
        result = {"error": one_line(err)}
    print(json.dumps(result), flush=True)


def measure(spec: dict[str, Any], timeout: int) -> dict[str, Any]:
    """A child's result (or its failure) for `spec`."""
    env = {**os.environ, "OMP_NUM_THREADS": str(spec["threads"])}
    try:
        done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], check=False, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(lines[-1])


def report(stats: dict[tuple[str, int], Stat], threads: list[int], variants: list[str]) -> str:
    """The markdown table: ms a step per variant and thread count, and the ratio to PyTorch's fastest
    variant at that thread count (eager nn.GRU, torch.compile or nn.GRUCell, whichever won)."""
    lines = ["| variant | threads | ms / step (median, min-max over processes) | vs PyTorch's fastest |",
             "|---|---|---|---|"]
    for n in threads:
        torch = [stats[v, n] for v in variants if v.startswith("torch") and stats[v, n].ok]
        base = min(torch, key=lambda s: s.median) if torch else None
        for v in variants:
            s = stats[v, n]
            ratio = f"{s.median / base.median:.2f}x" if base and s.ok else "-"
            lines.append(f"| {v} | {n} | {s.text()} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    """A child's measurement with --child; otherwise the whole benchmark."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    p.add_argument("--rounds", type=int, default=5, help="processes per configuration")
    p.add_argument("--steps", type=int, default=10, help="timed steps per process")
    p.add_argument("--warmup", type=int, default=2, help="untimed first steps (torch.compile compiles here)")
    p.add_argument("--timeout", type=int, default=900, help="seconds a child may take")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    head = [f"GRU hidden {HIDDEN}, batch {BATCH}, input {INPUT}, unroll {UNROLL}: forward + backward",
            machine(), load_average("start"), check()]
    print("\n".join(head), flush=True)
    raw: dict[tuple[str, int], list[dict[str, Any]]] = {(v, n): [] for v in args.variants for n in args.threads}
    for r in range(args.rounds):
        order = list(raw) if r % 2 == 0 else list(reversed(raw))
        for v, n in order:
            res = measure({"variant": v, "threads": n, "warmup": args.warmup, "steps": args.steps}, args.timeout)
            raw[v, n].append(res)
            ms = f"{sorted(res['times_ms'])[len(res['times_ms']) // 2]:.1f} ms" if "times_ms" in res else res
            print(f"round {r + 1}/{args.rounds} {v} {n} thr: {ms}", flush=True)
    stats = {k: Stat([sorted(x["times_ms"])[len(x["times_ms"]) // 2] for x in rs if "times_ms" in x],
                     [x["error"] for x in rs if "error" in x]) for k, rs in raw.items()}
    head.append(load_average("end"))
    body = report(stats, args.threads, args.variants)
    print("\n" + body + "\n" + head[-1])
    OUT.mkdir(parents=True, exist_ok=True)
    stem = OUT / f"gru_vs_torch-{time.strftime('%Y%m%d-%H%M%S')}"
    stem.with_suffix(".md").write_text("\n".join(f"- {line}" for line in head) + "\n\n" + body + "\n")
    stem.with_suffix(".json").write_text(json.dumps({"args": {k: v for k, v in vars(args).items() if k != "child"},
                                                     "results": [{"key": list(k), "processes": v}
                                                                 for k, v in raw.items()]}, indent=1))
    print(f"written: {stem.name}.md and .json in {OUT.name}/")


if __name__ == "__main__":
    main()
