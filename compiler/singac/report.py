"""The memory estimate as `singac` prints it: one phrase for `compile`'s summary, and comment lines
(`# ...`) that `show` prints before the plan, so that its output still parses as protobuf text."""
from __future__ import annotations

from singa_proto import plan_pb2
from singa_spec.memory import PARTS, describe, estimate, human

TOP_LAYERS = 3


def process_phrase(plan: plan_pb2.PlanProto) -> str:
    """`~1.2 GiB per process` for the compile summary."""
    return f"~{human(estimate(plan).total)} per process"


def _parts(usage_parts: dict[str, int], names: tuple[str, ...]) -> str:
    return ", ".join(f"{p} {human(usage_parts.get(p, 0))}" for p in names)


def memory_lines(plan: plan_pb2.PlanProto) -> list[str]:
    """The estimate as `# ` comment lines: the process, each train worker, the biggest layers."""
    est = estimate(plan)
    process = {p: est.process.part(p) for p in PARTS}
    passing = "".join(f"; {k} +{human(n)} for a moment" for k, n in est.passing.items() if n)
    head = (f"# memory: ~{human(est.total)} per process at its peak = {_parts(process, PARTS)}, "
            f"baseline {human(est.baseline)} (interpreter and libraries){passing}")
    lines = [head]
    if est.groups > 1:
        lines.append(f"#   {est.groups} worker groups in the process share the params; each has its "
                     "own grads and activations")
    for w, usage in est.workers.items():
        mine = {p: usage.part(p) for p in PARTS}
        lines.append(f"# worker {w}: ~{human(usage.total())} = {_parts(mine, PARTS[:4])}")
    top = ", ".join(f"'{layer}' {describe(parts)}" for layer, parts in est.process.top(TOP_LAYERS))
    lines.append(f"# biggest layers: {top}")
    lines.append("# (a param its workers share is counted once, at the first worker that uses it)")
    return lines
