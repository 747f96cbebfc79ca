"""The text beside the graph: title, topology, traffic, params per worker and param slices per server."""
from __future__ import annotations

import textwrap

from .model import View
from .style import bytes_text

WRAP = 60  # characters per line of a param list
MAX_LINES = 12  # lines per worker or server before the list is cut short


def title(view: View) -> str:
    """'cifar10-convnet - train phase'."""
    return f"{view.job} - {view.phase} phase" + (" (partitions collapsed)" if view.collapsed else "")


def topology_line(view: View) -> str:
    """'1 worker group x 4 workers, 1 server group x 1 server, 1 process - Sandblaster'."""
    t = view.topology
    text = (
        f"{plural(t.nworker_groups, 'worker group')} x {plural(t.nworkers_per_group, 'worker')}, "
        f"{plural(t.nserver_groups, 'server group')} x {plural(t.nservers_per_group, 'server')}, "
        f"{plural(t.nprocs, 'process', 'processes')}"
    )
    return text + (f" - {t.framework}" if t.framework else "")


def traffic_line(view: View) -> str:
    """Bytes per step over bridges (activations between workers) and to and from servers (params)."""
    crossing = [e for e in view.edges if e.cross]
    count = sum(e.count for e in crossing)
    what = "activations + gradients" if view.directions == 2 else "activations"
    t = view.traffic
    params = f"params: {bytes_text(t.params_bytes)}/step (gradients pushed + values pulled)"
    if view.phase != "train":
        params = "params: none in this phase"
    return f"bridges: {bytes_text(view.cross_bytes)}/step on {plural(count, 'edge')} ({what}), {params}"


def process_line(view: View) -> str:
    """Bytes per step on the wire between processes, and how many of them cross hosts."""
    p, ranks = view.procs, view.placement.ranks
    text = (f"{plural(len(ranks), 'process', 'processes')}: {bytes_text(p.total(ranks))}/step on the wire "
            f"(params {bytes_text(p.params_wire)}, bridges {bytes_text(p.bridges_wire)}")
    text += f", sync {bytes_text(p.sync_wire)})" if p.sync_wire else ")"
    if view.placement.hosts:
        hosts = len(set(view.placement.hosts.values()))
        across = sum(p.wire(a, b) for a in ranks for b in ranks if view.placement.cross_host(a, b))
        text += f", {bytes_text(across)}/step across {plural(hosts, 'host')}"
    return text


def executors_text(executors: list[tuple[int, int]], tag: str, groups: int) -> list[str]:
    """'w0 w1' for one group, 'g1.w0' when there are several."""
    return [f"g{g}.{tag}{i}" if groups > 1 else f"{tag}{i}" for g, i in executors]


def rank_lines(view: View) -> list[str]:
    """One entry per process: its host (when known), its workers and its servers."""
    where, t = view.placement, view.topology
    out = []
    for rank in where.ranks:
        host = f" on {where.hosts[rank]}" if rank in where.hosts else ""
        words = executors_text(where.workers.get(rank, []), "w", t.nworker_groups)
        words += executors_text(where.servers.get(rank, []), "s", t.nserver_groups)
        out += wrap(f"rank {rank}{host}: ", words)
    return out


def link_lines(view: View) -> list[str]:
    """Per (worker process, server process) link: push and pull per step, and where it goes."""
    p = view.procs
    out = [f"rank {a} -> rank {b}: push {bytes_text(n)}, pull {bytes_text(n)}{link_note(view, a, b)}"
           for (a, b), n in sorted(p.push.items())]
    out += [f"rank {a} -> rank {b}: sync {bytes_text(n)}{link_note(view, a, b)}" for (a, b), n in sorted(p.sync.items())]
    return out or ["(no param traffic in this phase)"]


def link_note(view: View, a: int, b: int) -> str:
    """' (in process)' for a link inside one process, ' (cross-host)' for one between hosts."""
    if a == b:
        return " (in process)"
    return " (cross-host)" if view.placement.cross_host(a, b) else ""


def process_table(view: View) -> list[list[str]]:
    """Rows of the process x process table of wire bytes per step: row sends, column receives; a cell
    between hosts ends in '*'."""
    ranks, p = view.placement.ranks, view.procs
    rows = [["from\\to", *(f"r{r}" for r in ranks)]]
    for a in ranks:
        cells = [bytes_text(p.wire(a, b)) + ("*" if view.placement.cross_host(a, b) else "")
                 if p.wire(a, b) else "-" for b in ranks]
        rows.append([f"r{a}", *cells])
    return rows


def param_traffic_lines(view: View) -> list[str]:
    """Per worker bytes to and from servers, per server bytes in and out, and the server groups' sync."""
    t = view.traffic
    if not t.push:
        return ["(no param traffic in this phase)"]
    out = [f"worker {w}: push {bytes_text(t.worker_push(w))}, pull {bytes_text(t.worker_push(w))}"
           for w in t.workers]
    groups = f", {t.groups_per_server_group} worker groups" if t.groups_per_server_group > 1 else ""
    out += [f"server {s}: in {bytes_text(t.server_in(s))}, out {bytes_text(t.server_in(s))}{groups}"
            for s in t.servers]
    if t.sync:
        out.append(f"server groups sync: {bytes_text(t.sync)}/step (deltas + values)")
    return out


def bridge_table(view: View) -> list[list[str]]:
    """Rows of the worker x worker table of bridge bytes per step: row sends, column receives."""
    workers = view.workers
    rows = [["from\\to", *(f"w{w}" for w in workers)]]
    for a in workers:
        cells = [bytes_text(view.traffic.bridges[(a, b)]) if (a, b) in view.traffic.bridges else "-" for b in workers]
        rows.append([f"w{a}", *cells])
    return rows


def groups_line(view: View) -> str:
    """Why only one group is drawn."""
    groups = view.topology.nworker_groups
    if groups == 1:
        return "one worker group: the graph below is the whole job"
    return f"each of the {groups} worker groups runs this graph on its own batches"


def worker_param_lines(view: View) -> list[tuple[int, str]]:
    """(worker, line) pairs: the params each worker holds ('w4[:,0:5]' = columns 0-4 of w4)."""
    out = []
    for worker, names in view.worker_params.items():
        head = f"worker {worker}: "
        out += [(worker, line) for line in wrap(head, names)]
    return out


def server_lines(view: View) -> list[str]:
    """The param slices each server owns ('[a:b)' = floats a..b-1 of the flattened param)."""
    groups = view.topology.nserver_groups
    suffix = f" (x{groups} server groups)" if groups > 1 else ""
    out = []
    for server, slices in view.server_slices.items():
        out += wrap(f"server {server}{suffix}: ", slices)
    return out or ["(no params)"]


def wrap(head: str, words: list[str]) -> list[str]:
    """`head` then the words, wrapped and indented, cut short after MAX_LINES lines."""
    lines = textwrap.wrap(" ".join(words) or "(none)", WRAP, initial_indent=head,
                          subsequent_indent=" " * len(head), break_long_words=False)
    if len(lines) > MAX_LINES:
        rest = sum(len(line.split()) for line in lines[MAX_LINES:])
        lines = lines[:MAX_LINES] + [" " * len(head) + f"... and {rest} more"]
    return lines


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 worker', '4 workers'."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
