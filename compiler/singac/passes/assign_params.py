"""Assign params to compute nodes; adds the node attribute `params` and the graph's param table.

Each compute node gets [(role, param, block)], where `param` names the param whose values it uses
(a `share_from` chain resolved to its owner) and `block` the range of it a feature partition uses
(None: all of it, as for batch partitions, which share one param). Unnamed params get SINGA's automatic
names `<layer>$`, `<layer>$$`, ... The table `graph.graph["params"]` maps every declared param to its
layer, role, shape and conf.
"""
from __future__ import annotations

import networkx as nx
from singa_proto import job_pb2
from singa_spec import params as param_rules
from singa_spec import spec_of

from ..graph import forward_view


def assign_params(g: nx.DiGraph) -> nx.DiGraph:
    """Return a graph whose compute nodes name the params (and blocks) they use."""
    g = g.copy()
    table = _declare(g)
    _resolve_shares(g, table)
    by_layer: dict[str, list[dict]] = {}
    for entry in table.values():
        by_layer.setdefault(entry["layer"], []).append(entry)
    for _, d in g.nodes(data=True):
        if d["kind"] == "compute" and spec_of(d["type"]).params is not param_rules.none:
            d["params"] = [_use(d, p) for p in by_layer.get(d["origin"], [])]
        elif d["kind"] == "compute":  # e.g. an unrolled layer's kStack, beside its copies that use them
            d["params"] = []
    g.graph["params"] = table
    return g


def _declare(g: nx.DiGraph) -> dict[str, dict]:
    """Every param of every layer in the graph, once per layer, in execution order of first use."""
    table: dict[str, dict] = {}
    fwd = forward_view(g)
    seen: set[str] = set()
    for n, d in sorted(g.nodes(data=True), key=lambda x: (x[1]["order"], x[1].get("sub", 0), x[0])):
        if d["kind"] != "compute" or d["origin"] in seen:
            continue
        seen.add(d["origin"])
        srcs = sorted(fwd.predecessors(n), key=lambda s: g.edges[s, n]["slot"])
        in_shape = g.nodes[srcs[0]]["origin_shape"] if srcs else ()
        _declare_layer(g, d, in_shape, table)
    return table


def _declare_layer(g: nx.DiGraph, d: dict, in_shape: tuple[int, ...], table: dict[str, dict]) -> None:
    source, conf = g.graph["source"], d["conf"]
    spec = spec_of(d["type"])
    roles = spec.params(conf, in_shape)
    declared = list(conf.param)
    if len(declared) > len(roles):
        hint = f"; {spec.param_fields}" if spec.param_fields else ""
        raise source.layer_error(d["origin"], f"declares {len(declared)} params but a {d['type']} has "
                                 f"{len(roles)} ({', '.join(r for r, _ in roles)}{hint})")
    for i, (role, shape) in enumerate(roles):
        pconf = declared[i] if i < len(declared) else job_pb2.ParamProto()
        name = pconf.name or d["origin"] + "$" * (i + 1)
        if name in table and table[name]["layer"] != d["origin"]:
            raise source.layer_error(d["origin"], f"param name '{name}' is already used by layer "
                                     f"'{table[name]['layer']}'; param names must be unique")
        table[name] = {"name": name, "layer": d["origin"], "role": role, "shape": shape, "conf": pconf,
                       "owner": name}


def _resolve_shares(g: nx.DiGraph, table: dict[str, dict]) -> None:
    """Point every param at the owner of its values; shapes must agree with the owner's."""
    source = g.graph["source"]
    for entry in table.values():
        seen = [entry["name"]]
        owner = entry
        while owner["conf"].share_from:
            target = owner["conf"].share_from
            if target not in table:
                raise source.layer_error(entry["layer"], f"param '{entry['name']}' has share_from "
                                         f"'{target}', but no param has that name")
            if target in seen:
                raise source.layer_error(entry["layer"], "share_from cycle " + " -> ".join(seen + [target]))
            seen.append(target)
            owner = table[target]
        if owner["shape"] != entry["shape"]:
            raise source.layer_error(entry["layer"], f"param '{entry['name']}' of shape "
                                     f"{list(entry['shape'])} cannot share_from '{owner['name']}' of "
                                     f"shape {list(owner['shape'])}")
        entry["owner"] = owner["name"]


def _use(d: dict, entry: dict) -> tuple[str, str, tuple[int, int, int] | None]:
    """(role, owner param, (axis, begin, end) or None) for one node's use of one param."""
    if d["partition_dim"] != 1 or 1 not in d["block"]:
        return (entry["role"], entry["owner"], None)
    axis = spec_of(d["type"]).feature_axis(d["conf"], entry["role"])
    lo, hi = d["block"][1]
    return (entry["role"], entry["owner"], (axis, lo, hi))
