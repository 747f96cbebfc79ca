"""The memory estimate of a plan against bytes counted by hand, and how `singac` prints it."""
from __future__ import annotations

import subprocess

from google.protobuf import text_format
from singa_proto import plan_pb2
from singa_spec.footprints import Net
from singa_spec.memory import BASELINE, estimate

from .conftest import compile_text

# batch 4 of 6-value records -> fc (5 outputs: w 5x6, b 5) -> softmax loss, trained with Adam
JOB = """name: "tiny"
train_steps: 2
train_one_batch {{ alg: kBP }}
updater {{ type: kAdam learning_rate {{ type: kFixed base_lr: 0.1 }} }}
cluster {{ nworkers_per_group: {n} workspace: "ws" }}
neuralnet {{
  layer {{ name: "data" type: kShardData sharddata_conf {{ path: "absent" batchsize: 4 shape: 6 }} }}
  layer {{ name: "mnist" type: kMnist srclayers: "data" mnist_conf {{ norm_a: 2 norm_b: 1 }} }}
  layer {{ name: "label" type: kLabel srclayers: "data" }}
  layer {{ name: "fc" type: kInnerProduct srclayers: "mnist" innerproduct_conf {{ num_output: 5 }}
    param {{ name: "w" }} param {{ name: "b" }} }}
  layer {{ name: "loss" type: kSoftmaxLoss srclayers: "fc" srclayers: "label" }}
}}
"""
PARAMS = 4 * (5 * 6 + 5)  # float32 values of w and b


def test_one_worker_matches_bytes_counted_by_hand() -> None:
    est = estimate(compile_text(JOB.format(n=1)))
    p = est.process
    assert p.part("params") == PARAMS
    assert p.part("grads") == PARAMS  # one user of each param writes the gradient itself
    assert p.part("updater") == 4 * PARAMS  # Adam: m, v and two scratch arrays
    # labels 4 int32; mnist 4x6; fc's y 4x5 (no dx: nothing upstream has params); loss p and g 4x5
    assert p.layers["label"]["activations"] == 4 * 4
    assert p.layers["mnist"]["activations"] == 4 * 24
    assert p.layers["fc"]["activations"] == 4 * 20
    assert p.layers["loss"]["activations"] == 2 * 4 * 20
    assert p.part("data") == 0  # the shard is not there
    assert est.passing == {"decode": 0}
    assert est.total == PARAMS * 6 + 16 + 96 + 80 + 160 + BASELINE


def test_two_workers_add_a_gradient_buffer_per_replica() -> None:
    est = estimate(compile_text(JOB.format(n=2)))
    assert est.process.part("params") == PARAMS
    assert est.process.part("grads") == 3 * PARAMS  # the group's sum, and each replica's own
    assert [w.part("grads") for w in est.workers.values()] == [2 * PARAMS, PARAMS]
    # each replica's half batch; fc's replicas also keep the whole batch's x and part, and 2x(4x2)
    # of y and dy (folding.ReplicaShare): 2 * (4*6 + 2*4*2 + 0)
    fc = est.process.layers["fc"]["activations"]
    assert fc == 2 * 4 * (2 * 5) + 2 * 4 * (4 * 6 + 2 * 4 * 2)


def test_groups_share_params_but_not_gradients() -> None:
    one = estimate(compile_text(JOB.format(n=1)))
    two = estimate(compile_text(JOB.format(n=1).replace("workspace", "nworker_groups: 2 workspace")))
    assert two.process.part("params") == one.process.part("params")
    assert two.process.part("grads") == 2 * one.process.part("grads")
    assert two.process.part("activations") == 2 * one.process.part("activations")


def test_show_prints_the_estimate_as_comments_and_stays_protobuf_text(tmp_path) -> None:
    job = tmp_path / "job.pbtxt"
    job.write_text(JOB.format(n=2))
    out = subprocess.run(["singac", "compile", str(job), "-o", str(tmp_path / "plan.bin")],
                         capture_output=True, text=True, check=True).stdout
    assert " per process, hash " in out and ", ~" in out
    shown = subprocess.run(["singac", "show", str(tmp_path / "plan.bin")], capture_output=True, text=True,
                           check=True).stdout
    comments = [line for line in shown.splitlines() if line.startswith("#")]
    assert comments[0].startswith("# memory: ~") and "# worker 1: ~" in shown
    assert "# biggest layers: 'fc'" in shown
    plan = text_format.Parse(shown, plan_pb2.PlanProto())
    assert plan.job.name == "tiny"


def deep_convnet(depth: int) -> str:
    """A convolution followed by `depth` ReLUs in a chain, each keeping the convolution's layout."""
    relus = "".join(f'  layer {{ name: "r{i}" type: kReLU srclayers: "{"conv" if i == 0 else f"r{i - 1}"}" }}\n'
                    for i in range(depth))
    return JOB.format(n=1).replace("shape: 6", "shape: 3 shape: 8 shape: 8").replace(
        '  layer {{ name: "fc" type: kInnerProduct srclayers: "mnist"'.format(),
        '  layer { name: "conv" type: kConvolution srclayers: "mnist" convolution_conf { num_filters: 2 '
        f'kernel: 3 }} }}\n{relus}'
        f'  layer {{ name: "fc" type: kInnerProduct srclayers: "r{depth - 1}"')


def test_a_net_deeper_than_the_recursion_limit_gets_its_estimate(tmp_path) -> None:
    depth = 1500  # Python's default recursion limit is 1000
    plan = compile_text(deep_convnet(depth))
    assert Net(plan.graphs[0], True).channels_last(f"r{depth - 1}")  # the conv's layout, kept all along
    job = tmp_path / "job.pbtxt"
    job.write_text(deep_convnet(depth))
    done = subprocess.run(["singac", "compile", str(job), "-o", str(tmp_path / "plan.bin")],
                          check=False, capture_output=True, text=True)
    assert done.returncode == 0 and " per process, hash " in done.stdout, done.stderr
