"""Text from a trained character-level language model: `singart sample PLAN --prime "The " -n 200`.

The loop knows the model only as a step function (last id, state) -> (logits, state), so any cell can
drive it; `gru_language_model` builds that function for an embedding -> GRU -> inner product net from
its params, with the GRU cell passed in (the runtime's kGRU cell when run from the command line).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from singa_proto import job_pb2, plan_pb2

from . import SingaError
from .checkpoint import DamagedStep, read_step
from .data.text import VOCAB_FILE
from .manifests import complete_steps
from .reference import inner_product

State = Any
StepFn = Callable[[int, State], tuple[np.ndarray, State]]
# gru(x [B, D], h_prev [B, H], W_x [3H, D], W_h [3H, H], b_x [3H] or None, b_h [3H] or None) -> (h [B, H], cache)
GruCell = Callable[..., tuple[np.ndarray, Any]]


def draw(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """An id drawn from softmax(logits / temperature); temperature 0 takes the most likely one."""
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def sample_ids(step: StepFn, state: State, prime: list[int], n: int, temperature: float,
               rng: np.random.Generator) -> list[int]:
    """Feed the prime ids one by one, then draw n ids, each fed back as the next input."""
    if not prime:
        raise SingaError("--prime: give at least one character to start from")
    for i in prime:
        logits, state = step(i, state)
    out = []
    for _ in range(n):
        out.append(draw(logits, temperature, rng))
        logits, state = step(out[-1], state)
    return out


def gru_language_model(params: dict[str, np.ndarray], cell: GruCell,
                       transpose: bool = False) -> tuple[StepFn, State]:
    """The step function and zero state of embedding -> GRU -> inner product, for a batch of one.

    params: embedding (vocab, dim), weight_x, weight_h, bias and bias_h (either may be absent),
    out_weight, out_bias.
    """
    emb, w_x, w_h = params["embedding"], params["weight_x"], params["weight_h"]
    b_x, b_h = params.get("bias"), params.get("bias_h")
    w_out, b_out = params["out_weight"], params.get("out_bias")

    def step(last: int, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, _ = cell(np.ascontiguousarray(emb[last][None, :]), h, w_x, w_h, b_x, b_h)
        return inner_product(h, w_out, b_out, transpose)[0], h

    return step, np.zeros((1, w_h.shape[1]), np.float32)


# --- params of a trained char-rnn job: its plan and its newest checkpoint ------------------------
def layer_params(plan: plan_pb2.PlanProto, kind: int) -> tuple[job_pb2.LayerProto, dict[str, str]]:
    """The one layer of `kind` in the train net: its conf and {role: param name} (shares resolved)."""
    owners = {p.name: p.share_from or p.name for p in plan.params}
    train = next(g for g in plan.graphs if g.phase == job_pb2.kTrain)
    layers = {n.origin: n for n in train.nodes if n.kind == plan_pb2.kCompute and n.conf.type == kind}
    if len(layers) != 1:
        raise SingaError(f"{plan.source}: sampling needs exactly one {job_pb2.LayerType.Name(kind)} layer, "
                         f"the net has {len(layers)}")
    node = next(iter(layers.values()))
    return node.conf, {r.role: owners.get(r.param, r.param) for r in node.params}


def newest_params(workspace: str) -> tuple[int, dict[str, np.ndarray]]:
    """The newest complete checkpoint step in `workspace`/checkpoint: (step, params by name)."""
    folder = Path(workspace) / "checkpoint"
    steps = complete_steps(folder) if folder.is_dir() else []
    if not steps:
        raise SingaError(f"{folder}: no complete checkpoint (train with checkpoint_freq set first)")
    found = max(steps, key=lambda m: m.step)
    try:
        contents = read_step(found)
    except DamagedStep as err:
        raise SingaError(f"{folder}: step {found.step}: {err}") from None
    return found.step, {name: arr for _, c in contents for name, (arr, _) in c.items()}


def char_rnn_params(plan: plan_pb2.PlanProto, values: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], bool]:
    """The arrays gru_language_model takes, from a plan and checkpoint values; and the output's transpose."""
    out: dict[str, np.ndarray] = {}
    wanted = ((job_pb2.kEmbedding, {"weight": "embedding"}),
              (job_pb2.kGRU, {"weight_x": "weight_x", "weight_h": "weight_h", "bias": "bias", "bias_h": "bias_h"}),
              (job_pb2.kInnerProduct, {"weight": "out_weight", "bias": "out_bias"}))
    for kind, roles in wanted:
        conf, names = layer_params(plan, kind)
        for role, key in roles.items():
            if role in names:
                if names[role] not in values:
                    raise SingaError(f"param {names[role]} of layer {conf.name} is not in the checkpoint")
                out[key] = values[names[role]]
    return out, bool(layer_params(plan, job_pb2.kInnerProduct)[0].innerproduct_conf.transpose)


def vocab_path(plan: plan_pb2.PlanProto) -> str:
    """vocab.json beside the train net's shard (where `singart data text` writes it)."""
    train = next(g for g in plan.graphs if g.phase == job_pb2.kTrain)
    data = next((n for n in train.nodes if n.conf.type == job_pb2.kShardData), None)
    if data is None:
        raise SingaError(f"{plan.source}: the train net has no kShardData layer; give --vocab")
    return os.path.join(os.path.dirname(data.conf.sharddata_conf.path.rstrip("/")), VOCAB_FILE)
