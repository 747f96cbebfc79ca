"""Channels-last activations (NHWC in memory, NCHW in shape): the kernels take them wherever the layers
pass them, in any mix with NCHW, and compute what they compute on NCHW; the layers keep the layout
through conv -> pool -> activation chains and hand NCHW to the layers that need it."""
from __future__ import annotations

import numpy as np
import pytest
from singart import layout, ops
from singart import reference as ref

from .test_kernels import ATOL, RTOL, rand


def to(a: np.ndarray, channels_last: bool) -> np.ndarray:
    """A copy of `a` in the layout."""
    out = layout.empty(a.shape, channels_last)
    np.copyto(out, a)
    return out


def test_layout_helpers() -> None:
    x = layout.empty((2, 3, 4, 5), True)
    assert x.shape == (2, 3, 4, 5) and layout.is_channels_last(x) and layout.is_dense(x)
    assert not layout.is_channels_last(np.empty((2, 3, 4, 5), np.float32))
    assert not layout.is_dense(np.empty((2, 3, 4, 5), np.float32)[:, :2])  # a channel cut
    one = layout.empty((2, 1, 4, 5), True)  # one channel: both layouts are the same memory
    assert layout.in_layout(one, True) and layout.in_layout(one, False)
    nchw = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    assert layout.as_layout(nchw, False, lambda: pytest.fail("no copy needed")) is nchw
    copy = layout.as_layout(nchw, True, lambda: layout.empty(nchw.shape, True))
    assert layout.is_channels_last(copy)
    np.testing.assert_array_equal(copy, nchw)


@pytest.mark.parametrize("x_last, y_last", [(False, True), (True, True), (True, False)])
@pytest.mark.parametrize("n,c,h,w,f,k,s,p", [(2, 3, 8, 8, 4, 3, 1, 1), (2, 5, 9, 7, 16, 3, 2, 0),
                                             (2, 1, 6, 6, 3, 2, 2, 1)])
def test_convolution_in_either_layout(x_last: bool, y_last: bool, n: int, c: int, h: int, w: int, f: int,
                                      k: int, s: int, p: int) -> None:
    rng = np.random.default_rng(c * 10 + f)
    x, wt, b = rand(rng, n, c, h, w), rand(rng, f, c * k * k), rand(rng, f)
    want = ref.conv2d(x, wt, b, s, p)
    y = ops.conv2d(to(x, x_last), wt, b, layout.empty(want.shape, y_last), s, p)
    np.testing.assert_allclose(y, want, RTOL, ATOL)
    dy = rand(rng, *want.shape)
    dx, dw, db = ref.conv2d_backward(x, wt, dy, s, p)
    got_dx = ops.conv2d_backward_data(to(dy, y_last), wt, x.shape, layout.empty(x.shape, x_last), s, p)
    np.testing.assert_allclose(got_dx, dx, RTOL, ATOL)
    got_dw, got_db = np.empty_like(wt), np.empty_like(b)
    ops.conv2d_backward_weights(to(x, x_last), to(dy, y_last), got_dw, got_db, s, p)
    np.testing.assert_allclose(got_dw, dw, RTOL, ATOL)
    np.testing.assert_allclose(got_db, db, RTOL, ATOL)


@pytest.mark.parametrize("is_max", [True, False])
@pytest.mark.parametrize("shape,k,s", [((2, 20, 8, 8), 2, 2), ((3, 4, 3, 3), 2, 2)])  # the second: 1x1 out
def test_pooling_channels_last(is_max: bool, shape: tuple[int, ...], k: int, s: int) -> None:
    rng = np.random.default_rng(2)
    x = rand(rng, *shape)
    ws = ops.pool_workspace(shape, k, s, is_max, True)
    want = ref.pool(x, k, s, is_max)
    y = ops.pool(to(x, True), k, s, is_max, ws, layout.empty(want.shape, True))
    np.testing.assert_allclose(y, want, RTOL, ATOL)
    dy = rand(rng, *want.shape)
    dx = ops.pool_backward(to(dy, True), ws, shape, k, s, is_max, layout.empty(shape, True))
    np.testing.assert_allclose(dx, ref.pool_backward(x, dy, k, s, is_max), RTOL, ATOL)


def test_element_wise_kernels_need_one_layout() -> None:
    x = to(rand(np.random.default_rng(3), 2, 3, 4, 5), True)
    np.testing.assert_allclose(ops.activation("relu", x, layout.empty(x.shape, True)), np.maximum(x, 0))
    with pytest.raises(ValueError, match="memory layout"):
        ops.activation("relu", x, np.empty(x.shape, np.float32))
    with pytest.raises(ValueError, match="C-contiguous or channels-last"):
        ops.activation("relu", np.empty((2, 6, 4, 5), np.float32)[:, :3], np.empty(x.shape, np.float32))


JOB = """name: "layouts"
train_steps: 1
seed: 5
train_one_batch { alg: kBP }
updater { type: kSGD learning_rate { type: kFixed base_lr: 0.1 } }
cluster { workspace: "$ws" }
neuralnet {
  layer { name: "data" type: kShardData sharddata_conf { path: "$shard" batchsize: 4 } }
  layer { name: "mnist" type: kMnist srclayers: "data" mnist_conf { norm_a: 255 norm_b: 0.5 } }
  layer { name: "label" type: kLabel srclayers: "data" }
  layer { name: "conv" type: kConvolution srclayers: "mnist" convolution_conf { num_filters: 20 kernel: 3 }
    param { name: "cw" init { type: kUniform low: -0.3 high: 0.3 } } param { name: "cb" } }
  layer { name: "pool" type: kPooling srclayers: "conv" pooling_conf { kernel: 2 stride: 2 pool: MAX } }
  layer { name: "relu" type: kReLU srclayers: "pool" }
  layer { name: "norm" type: kLRN srclayers: "relu" lrn_conf { local_size: 3 alpha: 0.5 beta: 0.75 knorm: 2 } }
  layer { name: "ip" type: kInnerProduct srclayers: "norm" innerproduct_conf { num_output: 3 }
    param { name: "w" init { type: kUniform low: -0.3 high: 0.3 } } param { name: "b" } }
  layer { name: "loss" type: kSoftmaxLoss srclayers: "ip" srclayers: "label" }
}
"""


def test_the_executor_keeps_channels_last_where_layers_take_it(tmp_path) -> None:
    """conv, pool and ReLU hand channels-last on; LRN (which wants NCHW) gets an NCHW copy from the
    executor; every output equals the NCHW reference chain's, and a step trains."""
    from string import Template

    import singac
    from singa_proto import job_pb2
    from singart import store
    from singart.data.convert import write_image_shard
    from singart.train import find_graph
    from singart.worker import WorkerGroup

    rng = np.random.default_rng(4)
    write_image_shard(str(tmp_path / "shard"), rng.integers(0, 256, (8, 10, 10), dtype=np.uint8),
                      rng.integers(0, 3, 8), interval=1e9)
    src = tmp_path / "job.pbtxt"
    src.write_text(Template(JOB).substitute(ws=tmp_path / "ws", shard=tmp_path / "shard"))
    plan = singac.compile_file(str(src))
    graph = find_graph(plan, job_pb2.kTrain)
    params, _ = store.build(plan, graph)
    group = WorkerGroup(graph, params, plan.job.seed, train=True)
    outs = group.executors[0].forward(0)
    assert [layout.is_channels_last(outs[n]) for n in ("conv", "pool", "relu")] == [True, True, True]
    assert outs["norm"].flags.c_contiguous
    v = params.values
    want = np.maximum(ref.pool(ref.conv2d(outs["mnist"], v["cw"], v["cb"], 1, 0), 2, 2, True), 0)
    np.testing.assert_allclose(outs["relu"], want, RTOL, ATOL)
    np.testing.assert_allclose(outs["norm"], ref.lrn(want, 3, 0.5, 0.75, 2.0), RTOL, ATOL)
    group.executors[0].backward(0)  # gradients come back through the same layouts
    assert params.versions["cw"] == 1 and np.isfinite(v["cw"]).all()
    group.close()


def test_pooling_backward_must_take_the_layout_its_forward_took() -> None:
    rng = np.random.default_rng(5)
    shape = (2, 20, 8, 8)
    x, dy = rand(rng, *shape), rand(rng, 2, 20, 4, 4)
    ws = ops.pool_workspace(shape, 2, 2, True, True)
    with pytest.raises(ValueError, match="not filled by a forward"):  # no forward yet
        ops.pool_backward(to(dy, True), ws, shape, 2, 2, True, layout.empty(shape, True))
    ops.pool(to(x, True), 2, 2, True, ws, layout.empty(dy.shape, True))
    with pytest.raises(ValueError, match="not filled by a forward on NCHW"):
        ops.pool_backward(dy, ws, shape, 2, 2, True, np.empty(shape, np.float32))


def test_small_kernels_leave_the_thread_count_as_it_was() -> None:
    main = ops.get_num_threads()
    ops.set_num_threads(2)
    try:
        rng = np.random.default_rng(6)
        ops.gemm(rand(rng, 4, 5), rand(rng, 5, 3))  # few multiply-adds: run in this thread alone
        ops.activation("relu", rand(rng, 10))
        assert ops.get_num_threads() == 2
    finally:
        ops.set_num_threads(main)
