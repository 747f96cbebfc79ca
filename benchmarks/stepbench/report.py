"""The parent's report: statistics over processes, the markdown tables, the header lines."""
from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .nets import NETS, ROOT, VARIANTS, mlp_gflop, variants_for

Raw = dict[tuple, list[dict[str, Any]]]  # Task.key -> each of its processes' JSON result


def median_ms(result: dict[str, Any]) -> float | None:
    """A process's median ms a step."""
    return statistics.median(result["times_ms"]) if "times_ms" in result else None


def compile_seconds(result: dict[str, Any]) -> float:
    """The first steps' time beyond their share of steady steps: torch.compile's compile time."""
    warm = result["warmup_ms"]
    return (sum(warm) - len(warm) * statistics.median(result["times_ms"])) / 1e3


@dataclass
class Stat:
    """One configuration's per-process values, and the failed processes' reasons."""

    values: list[float]
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    def text(self, digits: int = 1) -> str:
        """median (min-max), and how many processes failed."""
        if not self.values:
            return "failed: " + (self.errors[0] if self.errors else "no result")
        out = f"{self.median:.{digits}f}"
        if len(self.values) > 1:
            out += f" ({min(self.values):.{digits}f}-{max(self.values):.{digits}f})"
        if self.errors:
            out += f" [{len(self.errors)} of {len(self.values) + len(self.errors)} processes failed]"
        return out


class Results:
    """The raw results of a run, read per configuration."""

    def __init__(self, args: argparse.Namespace, raw: Raw) -> None:
        self.args, self.raw = args, raw

    def step(self, *key: Any) -> Stat:
        """Per-process medians of a group or torch configuration."""
        got = self.raw.get(tuple(key), [])
        return Stat([median_ms(r) for r in got if "times_ms" in r],
                    [r["error"] for r in got if "error" in r])

    def group(self, net: str, threads: int, workers: int = 1) -> Stat:
        return self.step("group", net, threads, workers, "", 0)

    def torch(self, net: str, threads: int, variant: str) -> Stat:
        return self.step("torch", net, threads, 1, variant, 0)

    def run(self, net: str, threads: int) -> Stat:
        """(t2 - t1) / (N2 - N1) of each round's two `singart run` processes, ms a step."""
        n1, n2 = self.args.run_steps
        a = self.raw.get(("run", net, threads, 1, "", n1), [])
        b = self.raw.get(("run", net, threads, 1, "", n2), [])
        values, errors = [], []
        for r1, r2 in zip(a, b, strict=False):
            if "seconds" in r1 and "seconds" in r2:
                values.append((r2["seconds"] - r1["seconds"]) / (n2 - n1) * 1e3)
            else:
                errors.append(r1.get("error") or r2.get("error", ""))
        return Stat(values, errors)

    def peak(self, threads: int, name: str = "1024^3") -> Stat:
        got = self.raw.get(("peak", "", threads, 1, "", 0), [])
        return Stat([r["gflops"][name] for r in got if "gflops" in r],
                    [r["error"] for r in got if "error" in r])

    def fastest_torch(self, net: str, threads: int) -> tuple[str, Stat] | None:
        ok = [(v, self.torch(net, threads, v)) for v in variants_for(net, self.args.variants)]
        ok = [(v, s) for v, s in ok if s.ok]
        return min(ok, key=lambda vs: vs[1].median) if ok else None

    def compile_text(self, net: str, threads: int, variant: str) -> str:
        """torch.compile's seconds in each process, in run order ('-' for other variants)."""
        if not VARIANTS[variant].compile:
            return "-"
        got = self.raw.get(("torch", net, threads, 1, variant, 0), [])
        return " / ".join(f"{compile_seconds(r):.1f}" for r in got if "times_ms" in r) or "-"


# --- the tables ------------------------------------------------------------------------------------
def ratio(a: Stat, b: Stat | None) -> str:
    return f"{a.median / b.median:.2f}" if b is not None and a.ok and b.ok else "-"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def report(res: Results) -> str:
    """Every table of the run, in markdown."""
    out = [step_table(res), variants_table(res)]
    if res.args.workers > 1:
        out.append(workers_table(res))
    out.append(peak_table(res))
    if "mnist-mlp" in res.args.nets:
        out.append(mlp_efficiency(res))
    return "\n".join(out) + "\n"


def step_table(res: Results) -> str:
    """Table 1: singart's group step and `singart run` against PyTorch's fastest variant."""
    args, rows = res.args, []
    n1, n2 = args.run_steps
    run_col = f"singart run ms/step ({n1} -> {n2} steps)" if n2 else "singart run (not measured)"
    for net in args.nets:
        for t in args.threads:
            group, run = res.group(net, t), res.run(net, t)
            best = res.fastest_torch(net, t)
            theirs = best[1] if best else None
            rows.append([net, str(NETS[net].batch), str(t), group.text(),
                         run.text() if args.run_steps[1] else "-", best[0] if best else "all failed",
                         theirs.text() if theirs else "-", ratio(group, theirs), ratio(run, theirs)])
    return ("### Table 1: ms per training step, singart against PyTorch's fastest variant\n\n"
            "median over processes (min-max of the per-process medians); ratio < 1: singart faster\n\n"
            + table(["net", "batch", "threads", "singart group step ms", run_col, "fastest PyTorch variant",
                     "PyTorch ms", "group / PyTorch", "run / PyTorch"], rows))


def variants_table(res: Results) -> str:
    """Every PyTorch variant against eager, with torch.compile's compile seconds."""
    rows = []
    for net in res.args.nets:
        for t in res.args.threads:
            eager = res.torch(net, t, "eager")
            for v in variants_for(net, res.args.variants):
                s = res.torch(net, t, v)
                rows.append([net, str(t), v, s.text(), ratio(s, eager), res.compile_text(net, t, v)])
    return ("\n### PyTorch variants (each step includes the batch's preparation from uint8 records)\n\n"
            "compile s: torch.compile's first steps beyond steady steps, per process in run order "
            "(the run's inductor cache starts empty)\n\n"
            + table(["net", "threads", "variant", "ms", "vs eager", "compile s"], rows))


def workers_table(res: Results) -> str:
    """Table 2: singart's w workers x 1 thread against 1 worker x w threads, and against 1 x 1."""
    w, rows = res.args.workers, []
    for net in res.args.nets:
        one, many, split = res.group(net, 1), res.group(net, w), res.group(net, 1, w)
        within = "-"
        if many.ok and split.ok:
            slower = 100 * (split.median / many.median - 1)
            within = f"{'yes' if slower <= 5 else 'NO'} ({slower:+.1f} %)"
        rows.append([net, one.text(), many.text(), split.text(), ratio(split, many), within,
                     ratio(one, split)])
    return (f"\n### Table 2: singart {w} workers x 1 thread against 1 worker x {w} threads "
            "(target: within 5 %)\n\n"
            + table(["net", "1 worker x 1 thread ms", f"1 worker x {w} threads ms",
                     f"{w} workers x 1 thread ms", f"{w}x1 / 1x{w}", "within 5 %",
                     f"{w}x1 speedup over 1x1"], rows))


def cores_measured(args: argparse.Namespace) -> list[int]:
    """Every core count a singart configuration uses: the thread counts, and the workers'."""
    return sorted({*args.threads, *([args.workers] if args.workers > 1 else [])})


def peak_table(res: Results) -> str:
    """singart's sgemm GFLOP/s at each core count."""
    rows = [[str(t), res.peak(t).text(0), res.peak(t, "mlp-fc2").text(0)] for t in cores_measured(res.args)]
    return ("\n### singart's sgemm (ops.gemm), GFLOP/s, best of each process\n\n"
            + table(["threads", "1024 x 1024 x 1024 (the peak below)", "MLP fc2, 64 x 2500 x 2000"], rows))


def mlp_configs(res: Results) -> list[tuple[str, Stat, int]]:
    """(who, step times, cores) of every MLP configuration set against the peak."""
    args = res.args
    configs = [(f"singart 1 worker x {t}", res.group("mnist-mlp", t), t) for t in cores_measured(args)]
    if args.workers > 1:
        configs.append((f"singart {args.workers} workers x 1", res.group("mnist-mlp", 1, args.workers),
                        args.workers))
    for t in args.threads:
        best = res.fastest_torch("mnist-mlp", t)
        if best:
            configs.append((f"PyTorch {best[0]} {t}", best[1], t))
    return configs


def mlp_efficiency(res: Results) -> str:
    """The MLP's achieved GFLOP/s as a share of the sgemm peak at the same cores."""
    gflop, rows = mlp_gflop("mnist-mlp"), []
    for name, stat, cores in mlp_configs(res):
        peak = res.peak(cores)
        if not stat.ok:
            continue
        achieved = gflop / (stat.median / 1e3)
        pct = 100 * achieved / peak.median if peak.ok else math.nan
        rows.append([name, f"{stat.median:.1f}", f"{achieved:.0f}", f"{peak.median:.0f}", f"{pct:.0f} %",
                     "yes" if pct >= 70 else "NO"])
    return (f"\n### MLP (batch {NETS['mnist-mlp'].batch}): {gflop:.2f} GFLOP a step, achieved against the "
            "sgemm peak at the same cores (target >= 70 %)\n\n"
            + table(["who, threads", "ms", "GFLOP/s", "peak GFLOP/s", "% of peak", ">= 70 %"], rows))


# --- the header ------------------------------------------------------------------------------------
def header(args: argparse.Namespace) -> list[str]:
    """The run's first lines: date, machine, versions, settings, load average."""
    policy = args.omp_wait_policy or "unset (singart: its PASSIVE default; PyTorch: libgomp's default)"
    ignored = os.environ.get("OMP_WAIT_POLICY")
    return [f"step_vs_torch, {time.strftime('%Y-%m-%d %H:%M')}", machine(), versions(),
            f"rounds {args.rounds}, {args.warmup} + {args.steps} steps a process, OMP_WAIT_POLICY {policy}"
            + (f" (the environment's {ignored} ignored: use --omp-wait-policy)" if ignored else ""),
            load_average("start")]


def load_average(when: str) -> str:
    return f"load average at {when}: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


def machine() -> str:
    """The CPU's model, the usable cores, the Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores usable, {platform.python_implementation()} " \
           f"{platform.python_version()}"


def versions() -> str:
    """The versions of singa-py, torch and oneDNN, and the repository's commit."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("singa-py", "torch", "onednn-cpu-gomp"):
        try:
            out.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            out.append(f"{pkg} absent")
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                         check=False).stdout.strip()
    return ", ".join(out) + (f", commit {rev}" if rev else "")

