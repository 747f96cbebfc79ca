"""Unroll each recurrent layer (kRNN, kGRU, kLSTM) over its input's time steps.

A layer `R` reading (batch, time, features) becomes `time` copies `R~00`, `R~01`, ... of its kind
(the seed's "unroll the recurrent layer"): copy t reads the input, of which it uses step t, and the
state of copy t - 1; the first copy starts from the initial state (zeros, or the previous batch's last
state under kBPTT). The copies keep the origin `R`, so they share R's params the way batch partitions
do. `R` itself becomes a kStack node that joins the copies' states into R's rows (batch * time, dim),
so R's consumers are untouched. Removes nothing else; adds copies and the kStack.
"""
from __future__ import annotations

import networkx as nx
from singa_proto import job_pb2
from singa_spec.shapes import state_size

RECURRENT = frozenset({"kRNN", "kGRU", "kLSTM"})


def unroll(g: nx.DiGraph) -> nx.DiGraph:
    """Return a graph where no recurrent layer is left whole (run after infer_shapes)."""
    todo = [n for n, d in g.nodes(data=True) if d["type"] in RECURRENT and d["conf"].unroll_step == 0]
    if not todo:
        return g
    g = g.copy()
    for n in todo:
        _unroll(g, n)
    return g


def _unroll(g: nx.DiGraph, n: str) -> None:
    d = g.nodes[n]
    (src,) = g.predecessors(n)
    batch, time, _ = g.nodes[src]["shape"]
    if d["conf"].unroll_len != time:
        raise g.graph["source"].layer_error(
            n, f"unroll_len is {d['conf'].unroll_len}, but its input '{src}' has {time} time steps "
            f"{list(g.nodes[src]['shape'])}; set unroll_len: {time}")
    prev = None
    for t in range(time):
        conf = job_pb2.LayerProto()
        conf.CopyFrom(d["conf"])
        conf.unroll_step = t + 1
        copy = f"{n}~{t:02d}"
        g.add_node(copy, **{**d, "conf": conf, "sub": t, "shape": (batch, state_size(conf))})
        g.add_edge(src, copy, slot=0)
        if prev is not None:
            g.add_edge(prev, copy, slot=1)
        prev = copy
    g.remove_edge(src, n)
    for t in range(time):
        g.add_edge(f"{n}~{t:02d}", n, slot=t)
    d.update(type="kStack", conf=_stack_conf(d["conf"]), sub=time)


def _stack_conf(conf: job_pb2.LayerProto) -> job_pb2.LayerProto:
    """The layer's conf as its kStack's: the same name and rnn_conf, no params or partitioning."""
    out = job_pb2.LayerProto()
    out.CopyFrom(conf)
    out.type = job_pb2.kStack
    for field in ("param", "partition_dim", "location"):
        out.ClearField(field)
    return out
