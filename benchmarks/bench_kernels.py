"""GFLOP/s of the GEMM and convolution-forward kernels at 1 and 2 threads, next to PyTorch when installed.

    python benchmarks/bench_kernels.py [--repeat 20]
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from singart import ops

GEMMS = [(1024, 1024, 1024), (64, 2500, 784), (1000, 2000, 2500)]  # square; MNIST MLP fc1; batch-1000 fc2
CONVS = [  # n, c, h, w, filters, k, pad: the native-deps reference case, CIFAR-10 conv1 and conv3
    (100, 32, 16, 16, 32, 5, 2),
    (100, 3, 32, 32, 32, 5, 2),
    (100, 32, 7, 7, 64, 5, 2),
]


def best_seconds(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` timed calls, after two warm-up calls (primitive creation, first touch)."""
    fn()
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def gemm_cases(rng: np.random.Generator) -> list[tuple[str, float, Callable, Callable | None]]:
    torch = _torch()
    cases = []
    for m, n, k in GEMMS:
        a, b = rng.standard_normal((m, k), np.float32), rng.standard_normal((k, n), np.float32)
        c = np.empty((m, n), np.float32)
        ours = lambda a=a, b=b, c=c: ops.gemm(a, b, c)
        theirs = None
        if torch is not None:
            ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
            theirs = lambda ta=ta, tb=tb, tc=tc: torch.mm(ta, tb, out=tc)
        cases.append((f"gemm {m}x{n}x{k}", 2.0 * m * n * k, ours, theirs))
    return cases


def conv_cases(rng: np.random.Generator) -> list[tuple[str, float, Callable, Callable | None]]:
    torch = _torch()
    cases = []
    for n, c, h, w, f, k, p in CONVS:
        x, wt, b = (rng.standard_normal(s, np.float32) for s in [(n, c, h, w), (f, c * k * k), (f,)])
        y = ops.conv2d(x, wt, b, stride=1, pad=p)
        ours = lambda x=x, wt=wt, b=b, y=y, p=p: ops.conv2d(x, wt, b, y, 1, p)
        theirs = None
        if torch is not None:
            tx, tw, tb = torch.from_numpy(x), torch.from_numpy(wt.reshape(f, c, k, k)), torch.from_numpy(b)
            theirs = lambda tx=tx, tw=tw, tb=tb, p=p: torch.nn.functional.conv2d(tx, tw, tb, 1, p)
        flops = 2.0 * n * f * y.shape[2] * y.shape[3] * c * k * k
        cases.append((f"conv fwd n{n} {c}->{f} {h}x{w} k{k}", flops, ours, theirs))
    return cases


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def set_threads(n: int) -> None:
    ops.set_num_threads(n)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(n)


def main() -> None:
    """Print one row per case and thread count: ours and PyTorch's GFLOP/s."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    cases = gemm_cases(rng) + conv_cases(rng)
    torch = _torch()
    print(f"{'case':38s} {'threads':>7s} {'singa GFLOP/s':>14s} {'torch GFLOP/s':>14s}")
    for threads in (1, 2):
        set_threads(threads)
        for name, flops, ours, theirs in cases:
            mine = flops / best_seconds(ours, args.repeat) / 1e9
            other = f"{flops / best_seconds(theirs, args.repeat) / 1e9:14.1f}" if theirs else f"{'-':>14s}"
            print(f"{name:38s} {threads:7d} {mine:14.1f} {other}", flush=True)
    if torch is None:
        print("(PyTorch is not installed: pip install torch==2.13.0 to compare)")


if __name__ == "__main__":
    main()
