"""Small job files for the compiler tests, written from a few templates."""
from __future__ import annotations

HEAD = """name: "{name}"
train_steps: 10
test_steps: 1
seed: 7
train_one_batch {{ alg: {alg} }}
updater {{ type: kSGD learning_rate {{ type: kFixed base_lr: 0.1 }} }}
cluster {{ nworkers_per_group: {n} workspace: "ws" }}
neuralnet {{
  partition_dim: {dim}
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "absent" batchsize: {batch} shape: 6 shape: 6 }} }}
  layer {{ name: "mnist" type: kMnist srclayers: "data" mnist_conf {{ norm_a: 2 norm_b: 1 }} }}
  layer {{ name: "label" type: kLabel srclayers: "data" }}
"""


def layer(name: str, type_: str, srcs: list[str], body: str = "", extra: str = "") -> str:
    """One layer block."""
    src = " ".join(f'srclayers: "{s}"' for s in srcs)
    return f'  layer {{ name: "{name}" type: {type_} {src} {body} {extra} }}\n'


def ip(name: str, src: str, n: int, extra: str = "", params: str = "") -> str:
    """An inner-product layer with Gaussian weights."""
    p = params or (f'param {{ name: "w_{name}" init {{ type: kGaussian std: 0.5 }} }} '
                   f'param {{ name: "b_{name}" init {{ type: kUniform low: -0.1 high: 0.1 }} }}')
    return layer(name, "kInnerProduct", [src], f"innerproduct_conf {{ num_output: {n} }} {p}", extra)


def mlp(n: int = 2, dim: int = 0, extras: dict[str, str] | None = None, batch: int = 8) -> str:
    """data -> mnist -> fc1 (6) -> tanh -> fc2 (6) -> softmax loss; `extras` adds fields per layer."""
    x = extras or {}
    return (HEAD.format(name="mlp", alg="kBP", n=n, dim=dim, batch=batch)
            + ip("fc1", "mnist", 6, x.get("fc1", ""))
            + layer("tanh", "kSTanh", ["fc1"], "", x.get("tanh", ""))
            + ip("fc2", "tanh", 6, x.get("fc2", ""))
            + layer("loss", "kSoftmaxLoss", ["fc2", "label"], "", x.get("loss", "")) + "}\n")


def batch_concat(n: int = 2, dim: int = 0, extras: dict[str, str] | None = None) -> str:
    """Two inner products' rows stacked by a kConcate along dim 0 (twice the batch), with the labels
    stacked likewise -> tanh -> fc2 (6) -> softmax loss."""
    x = extras or {}
    stack = "concate_conf { concate_dim: 0 }"
    return (HEAD.format(name="stack", alg="kBP", n=n, dim=dim, batch=8)
            + layer("label2", "kLabel", ["data"])
            + ip("fc1a", "mnist", 6) + ip("fc1b", "mnist", 6)
            + layer("rows", "kConcate", ["fc1a", "fc1b"], stack, x.get("rows", ""))
            + layer("labels", "kConcate", ["label", "label2"], stack, x.get("labels", ""))
            + layer("tanh", "kSTanh", ["rows"]) + ip("fc2", "tanh", 6)
            + layer("loss", "kSoftmaxLoss", ["fc2", "labels"]) + "}\n")


def convnet(n: int = 2, dim: int = 0, extras: dict[str, str] | None = None) -> str:
    """data -> mnist -> conv (6 filters, k3) -> max pool -> relu -> fc (6) -> softmax loss."""
    x = extras or {}
    conv = ('convolution_conf { num_filters: 6 kernel: 3 pad: 1 } '
            'param { name: "wc" init { type: kGaussian std: 0.3 } } param { name: "bc" init { type: kUniform } }')
    return (HEAD.format(name="convnet", alg="kBP", n=n, dim=dim, batch=6)
            + layer("conv", "kConvolution", ["mnist"], conv, x.get("conv", ""))
            + layer("pool", "kPooling", ["conv"], "pooling_conf { pool: MAX kernel: 2 stride: 2 }", x.get("pool", ""))
            + layer("relu", "kReLU", ["pool"], "", x.get("relu", ""))
            + ip("fc", "relu", 6, x.get("fc", ""))
            + layer("loss", "kSoftmaxLoss", ["fc", "label"], "", x.get("loss", "")) + "}\n")


def autoencoder(n: int = 2, dim: int = 1) -> str:
    """An encoder 36 -> 12 -> 6 and a decoder tied to it by transposed, shared weights."""
    tied = ('param {{ name: "{w}" share_from: "{owner}" }} param {{ name: "{b}" init {{ type: kUniform }} }}')
    return (HEAD.format(name="ae", alg="kBP", n=n, dim=dim, batch=4)
            + ip("enc1", "mnist", 12) + layer("sig1", "kSigmoid", ["enc1"])
            + ip("enc2", "sig1", 6) + layer("sig2", "kSigmoid", ["enc2"])
            + ip("dec2", "sig2", 12, "", tied.format(w="w_dec2", owner="w_enc2", b="b_dec2"))
              .replace("num_output: 12 }", "num_output: 12 transpose: true }")
            + layer("sig3", "kSigmoid", ["dec2"])
            + ip("dec1", "sig3", 36, "", tied.format(w="w_dec1", owner="w_enc1", b="b_dec1"))
              .replace("num_output: 36 }", "num_output: 36 transpose: true }")
            + layer("loss", "kEuclideanLoss", ["dec1", "mnist"]) + "}\n")


def rbm(n: int = 2, dim: int = 0) -> str:
    """A 36 <-> 6 RBM pair whose two layers name each other."""
    return (HEAD.format(name="rbm", alg="kCD", n=n, dim=dim, batch=4)
            + layer("vis", "kRBMVis", ["mnist", "hid"],
                    'rbm_conf { hdim: 6 } param { name: "w" init { type: kGaussian std: 0.1 } } param { name: "bv" }')
            + layer("hid", "kRBMHid", ["vis"],
                    'rbm_conf { hdim: 6 } param { name: "w_" share_from: "w" } param { name: "bh" }') + "}\n")


def lm(n: int = 2, kind: str = "kGRU", time: int = 3, unroll: int = 3) -> str:
    """windows of time + 1 ids -> tokens -> embedding -> recurrent (hidden 5) -> ip (7) -> softmax loss."""
    p = 'param { name: "NAME" init { type: kUniform low: -0.5 high: 0.5 } }'
    return f"""name: "lm"
train_steps: 10
train_one_batch {{ alg: kBPTT }}
updater {{ type: kSGD learning_rate {{ type: kFixed base_lr: 0.1 }} }}
cluster {{ nworkers_per_group: {n} workspace: "ws" }}
neuralnet {{
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "absent" batchsize: 4 shape: {time + 1} }} }}
""" + (layer("ids", "kTokens", ["data"]) + layer("next", "kTokens", ["data"], "tokens_conf { next: true }")
       + layer("embed", "kEmbedding", ["ids"], "embedding_conf { vocab_size: 7 word_dim: 4 } "
               + p.replace("NAME", "e"))
       + layer("rnn", kind, ["embed"], f"unroll_len: {unroll} rnn_conf {{ dim: 5 }} "
               + " ".join(p.replace("NAME", x) for x in ("wx", "wh", "b")))
       + ip("out", "rnn", 7) + layer("loss", "kSoftmaxLoss", ["out", "next"]) + "}\n")
