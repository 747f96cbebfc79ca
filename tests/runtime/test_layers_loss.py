"""Dropout and the loss layers: reference values, partitioned runs equal the whole, metrics."""
from __future__ import annotations

import numpy as np
import pytest
from singart import reference as ref
from singart.params.seeds import make_rng

from .test_layers import make_layer, rand

RTOL, ATOL = 2e-4, 1e-6


def test_softmax_loss_forward_backward_and_metrics() -> None:
    rng = np.random.default_rng(0)
    x, labels = rand(rng, 6, 5), rng.integers(0, 5, 6).astype(np.int32)
    layer = make_layer("kSoftmaxLoss", "softmaxloss_conf { topk: 2 scale: 0.5 }", origin_shape=(6, 5))
    layer.forward([x, labels], [], 0)
    (g, none) = layer.backward(None, [])
    loss, want = ref.softmax_loss(x.astype(np.float64), labels, 6, 0.5)
    assert none is None
    np.testing.assert_allclose(g, want, RTOL, ATOL)
    m = layer.metrics()
    assert m["loss"][1] == m["accuracy"][1] == 6
    np.testing.assert_allclose(m["loss"][0], loss.sum(), RTOL)
    assert m["accuracy"][0] == ref.topk_correct(x, labels, 2).sum()
    assert layer.metrics() == {}  # reset after reading


def test_softmax_loss_batch_partitions_sum_to_the_whole() -> None:
    rng = np.random.default_rng(1)
    x, labels = rand(rng, 10, 4), rng.integers(0, 4, 10).astype(np.int32)
    whole = make_layer("kSoftmaxLoss", origin_shape=(10, 4))
    whole.forward([x, labels], [], 0)
    g_whole = whole.backward(None, [])[0].copy()
    grads, sums = [], {"loss": 0.0, "accuracy": 0.0}
    for i, (lo, hi) in enumerate([(0, 3), (3, 10)]):
        part = make_layer("kSoftmaxLoss", origin_shape=(10, 4), block=((0, lo, hi),), name=f"loss@{i:02d}")
        part.forward([x[lo:hi].copy(), labels[lo:hi]], [], 0)
        grads.append(part.backward(None, [])[0].copy())
        for name, (total, _) in part.metrics().items():
            sums[name] += total
    np.testing.assert_allclose(np.concatenate(grads), g_whole, RTOL, ATOL)
    m = whole.metrics()
    np.testing.assert_allclose(sums["loss"], m["loss"][0], RTOL)
    assert sums["accuracy"] == m["accuracy"][0]


def test_softmax_loss_refuses_labels_out_of_range() -> None:
    layer = make_layer("kSoftmaxLoss", origin_shape=(2, 3))
    with pytest.raises(ValueError, match="label 3 is not one of the 3 classes"):
        layer.forward([np.zeros((2, 3), np.float32), np.array([0, 3], np.int32)], [], 0)


def test_euclidean_loss_whole_and_partitioned() -> None:
    rng = np.random.default_rng(2)
    pred, target = rand(rng, 8, 3), rand(rng, 8, 3)
    whole = make_layer("kEuclideanLoss", origin_shape=(8, 3))
    whole.forward([pred, target], [], 0)
    g = whole.backward(None, [])
    loss, want = ref.euclidean_loss(pred.astype(np.float64), target, 8)
    assert g[1] is None
    np.testing.assert_allclose(g[0], want, RTOL, ATOL)
    np.testing.assert_allclose(whole.metrics()["loss"], (loss.sum(), 8), RTOL)
    parts = []
    for i, (lo, hi) in enumerate([(0, 5), (5, 8)]):
        part = make_layer("kEuclideanLoss", origin_shape=(8, 3), block=((0, lo, hi),), name=f"e@{i:02d}")
        part.forward([pred[lo:hi].copy(), target[lo:hi].copy()], [], 0)
        parts.append(part.backward(None, [])[0].copy())
    np.testing.assert_allclose(np.concatenate(parts), want, RTOL, ATOL)


DROP = "dropout_conf { dropout_ratio: 0.4 }"


def test_dropout_is_inverted_and_identity_outside_training() -> None:
    x = np.ones((50, 40), np.float32)
    layer = make_layer("kDropout", DROP, origin_shape=(50, 40))
    y = layer.forward([x], [], 3).copy()
    want = ref.dropout_mask((50, 40), 0.4, make_rng(11, "l", 3))  # the job seed, the layer, the step
    np.testing.assert_allclose(y, want, rtol=1e-6)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.6], rtol=1e-6)
    assert 0.3 < (y == 0).mean() < 0.5
    np.testing.assert_array_equal(layer.backward(x * 2, [])[0], 2 * y)
    assert not np.array_equal(layer.forward([x], [], 4), y)  # a new mask every step
    test = make_layer("kDropout", DROP, origin_shape=(50, 40), train=False)
    np.testing.assert_array_equal(test.forward([x], [], 3), x)


@pytest.mark.parametrize("axis", [0, 1])
def test_dropout_mask_does_not_depend_on_partitioning(axis: int) -> None:
    rng = np.random.default_rng(3)
    x = rand(rng, 6, 8, 2, 2)
    y = make_layer("kDropout", DROP, origin_shape=x.shape).forward([x], [], 9).copy()
    parts = []
    for i, (lo, hi) in enumerate([(0, 2), (2, x.shape[axis])]):
        index = (slice(None),) * axis + (slice(lo, hi),)
        part = make_layer("kDropout", DROP, origin_shape=x.shape, block=((axis, lo, hi),), name=f"l@{i:02d}")
        parts.append(part.forward([np.ascontiguousarray(x[index])], [], 9).copy())
    np.testing.assert_array_equal(np.concatenate(parts, axis=axis), y)


def test_softmax_loss_perplexity_is_exp_of_the_mean_cross_entropy() -> None:
    from singart.train import averages, log_line

    rng = np.random.default_rng(3)
    x, labels = rand(rng, 6, 5), rng.integers(0, 5, 6).astype(np.int32)
    plain = make_layer("kSoftmaxLoss", origin_shape=(6, 5))
    plain.forward([x, labels], [], 0)
    assert "ppl" not in plain.metrics()  # only language models ask for it
    layer = make_layer("kSoftmaxLoss", "softmaxloss_conf { perplexity: true }", origin_shape=(6, 5))
    layer.forward([x, labels], [], 0)
    m = layer.metrics()
    assert m["ppl"] == m["loss"]  # merged across workers like the loss, (sum, count)
    loss, _ = ref.softmax_loss(x.astype(np.float64), labels, 6, 1.0)
    shown = averages(m)
    np.testing.assert_allclose(shown["ppl"], np.exp(loss.mean()), RTOL)
    np.testing.assert_allclose(shown["loss"], loss.mean(), RTOL)
    assert "ppl = " in log_line("Train", 1, m)
    assert averages({"ppl": (1e6, 1)})["ppl"] == float("inf")  # no OverflowError on a diverged run
