"""Input layers: shard batches, wrap-around, random_skip, partitions, parsers and their errors."""
from __future__ import annotations

import numpy as np
import pytest
from google.protobuf import text_format
from singa_proto import common_pb2, job_pb2, plan_pb2
from singa_spec import spec_of
from singart.data.convert import write_image_shard, write_mean_image
from singart.data.records import RecordBatch, load_shard
from singart.data.shard import ShardError
from singart.layers import IMPLEMENTATIONS, LayerContext, make_layer
from singart.params.seeds import stable_hash

N, SEED = 10, 5


def _node(conf_text, shape=(), rows=None, full=None, name="data"):
    conf = text_format.Parse(f'name: "{name}" {conf_text}', job_pb2.LayerProto())
    node = plan_pb2.Node(name=name if rows is None else f"{name}@01", origin=name, conf=conf,
                         shape=list(shape))
    if rows is not None:
        node.block.add(axis=0, begin=rows[0], end=rows[1])
        node.origin_shape.extend([full, *shape[1:]])
    return node


def _layer(conf_text, shape=(), rows=None, full=None, train=True, name="data"):
    node = _node(conf_text, shape, rows, full, name)
    ctx = LayerContext(node=node, in_shapes=(), seed=SEED, train=train)
    return make_layer(job_pb2.LayerType.Name(node.conf.type), ctx)


@pytest.fixture()
def shard(tmp_path):
    images = (np.arange(N)[:, None, None] * 10 + np.arange(12).reshape(3, 4)).astype(np.uint8)
    write_image_shard(str(tmp_path / "s"), images, np.arange(N) % 7)
    return str(tmp_path / "s"), images


def _data(path, batch=4, skip=0, **kw):
    text = f'type: kShardData sharddata_conf {{ path: "{path}" batchsize: {batch} random_skip: {skip} }}'
    return _layer(text, **kw)


def test_batches_wrap_around_at_the_end(shard):
    path, images = shard
    layer = _data(path, shape=(4, 3, 4))
    seen = [layer.forward([], [], s) for s in range(3)]  # rows 0-3, 4-7, 8,9,0,1
    order = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    np.testing.assert_array_equal(np.concatenate([b.images for b in seen]), images[order])
    assert seen[2].labels.dtype == np.int32 and seen[2].labels.tolist() == [1, 2, 0, 1]
    assert not spec_of("kShardData").grad and layer.backward(None, []) == []


def test_partitions_read_exactly_the_rows_of_one_reader(shard):
    path, _ = shard
    whole = _data(path, batch=6, skip=7)
    parts = [_data(path, batch=6, skip=7, shape=(3, 3, 4), rows=r, full=6) for r in ((0, 3), (3, 6))]
    for step in range(4):
        one = whole.forward([], [], step)
        two = RecordBatch.concat([p.forward([], [], step) for p in parts])
        np.testing.assert_array_equal(one.images, two.images)
        np.testing.assert_array_equal(one.labels, two.labels)


def test_a_reader_started_at_a_later_step_reads_on_where_a_run_from_zero_would(shard):
    path, _ = shard
    first = _data(path, batch=4, skip=7)
    straight = [first.forward([], [], s).images for s in range(5)]
    resumed = _data(path, batch=4, skip=7)  # as after `singart run --resume` at step 3
    for s in (3, 4):
        np.testing.assert_array_equal(resumed.forward([], [], s).images, straight[s])
    tester = _data(path, batch=4, skip=0, train=False)  # test readers start at the shard's head
    np.testing.assert_array_equal(tester.forward([], [], 3).images, shard[1][:4])


def test_random_skip_comes_from_seed_and_layer_name(shard):
    path, _ = shard
    firsts = {int(_data(path, batch=1, skip=N).forward([], [], 0).images[0, 0, 0]) // 10
              for _ in range(3)}
    assert len(firsts) == 1  # the same seed and name skip the same count every time
    expected = int(np.random.default_rng([SEED, stable_hash("data")]).integers(1 << 62)) % N
    assert firsts == {expected}


def test_shard_is_decoded_once_per_process(shard):
    path, _ = shard
    a, b = _data(path), _data(path, batch=2)
    assert a.shard is b.shard is load_shard(path)


def test_missing_shard_and_shape_mismatch_name_layer_and_file(tmp_path, shard):
    with pytest.raises(ShardError, match=r"layer 'data': .*nowhere.*shard\.dat"):
        _data(str(tmp_path / "nowhere"))
    with pytest.raises(ShardError, match=r"layer 'data': .*shard\.dat holds records of shape \[3, 4\], "
                                         r"the plan says \[1, 3, 4\]"):
        _data(shard[0], shape=(4, 1, 3, 4))


def test_lmdb_is_not_supported():
    with pytest.raises(ValueError, match="layer 'db': kLMDBData is not supported in this build"):
        _layer('type: kLMDBData lmdbdata_conf { source: "x" batchsize: 2 }', name="db")


def test_label_and_mnist_parsers(shard):
    path, images = shard
    batch = _data(path).forward([], [], 0)
    labels = _layer("type: kLabel", name="label").forward([batch], [], 0)
    assert labels.dtype == np.int32 and labels.tolist() == [0, 1, 2, 3]
    mnist = _layer("type: kMnist mnist_conf { norm_a: 255 norm_b: 0.5 }", name="mnist")
    x = mnist.forward([batch], [], 0)
    assert x.dtype == np.float32 and x.shape == (4, 1, 3, 4)
    np.testing.assert_allclose(x[:, 0], images[:4] / np.float32(255) - 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="layer 'mnist': a parser layer needs exactly one data"):
        mnist.forward([x], [], 0)


@pytest.fixture()
def rgb(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 3, 6, 6), dtype=np.uint8)
    write_image_shard(str(tmp_path / "rgb"), images, np.arange(8))
    mean = write_mean_image(str(tmp_path / "mean.bin"), images)
    batch = load_shard(str(tmp_path / "rgb")).take(0, 8)
    return batch, images, mean, str(tmp_path / "mean.bin")


def _rgb(conf, **kw):
    return _layer(f"type: kRGBImage rgbimage_conf {{ {conf} }}", name="rgb", **kw)


def test_rgb_mean_and_scale(rgb):
    batch, images, mean, meanfile = rgb
    x = _rgb(f'meanfile: "{meanfile}" scale: 0.5').forward([batch], [], 0)
    np.testing.assert_allclose(x, (images - mean) * 0.5, rtol=1e-5, atol=1e-5)


def test_rgb_centre_crop_outside_training(rgb):
    batch, images, _, _ = rgb
    x = _rgb("cropsize: 4 mirror: true", train=False).forward([batch], [], 3)
    np.testing.assert_array_equal(x, images[:, :, 1:5, 1:5].astype(np.float32))


def test_rgb_random_crop_and_mirror_in_training(rgb):
    batch, images, _, _ = rgb
    layer = _rgb("cropsize: 4 mirror: true")
    x = layer.forward([batch], [], 3)
    assert x.shape == (8, 3, 4, 4)
    crops = []
    for i in range(8):  # each output is some 4x4 window of its image, maybe mirrored
        windows = {(dy, dx, f) for dy in range(3) for dx in range(3) for f in (False, True)
                   if np.array_equal(x[i], _window(images[i], dy, dx, f))}
        assert windows, f"image {i} is not a crop of its record"
        crops.append(windows)
    assert len({frozenset(c) for c in crops}) > 1  # choices vary across the batch
    np.testing.assert_array_equal(layer.forward([batch], [], 3), x)  # same step, same choices
    assert not np.array_equal(layer.forward([batch], [], 4), x)


def _window(img, dy, dx, flip):
    w = img[:, dy:dy + 4, dx:dx + 4].astype(np.float32)
    return w[..., ::-1] if flip else w


def test_rgb_partitions_draw_the_full_batch_choices(rgb):
    batch, _, _, meanfile = rgb
    conf = f'cropsize: 3 mirror: true meanfile: "{meanfile}"'
    whole = _rgb(conf, shape=(8, 3, 3, 3)).forward([batch], [], 9)
    parts = [_rgb(conf, shape=(4, 3, 3, 3), rows=r, full=8).forward([batch.rows(*r)], [], 9)
             for r in ((0, 4), (4, 8))]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_rgb_bad_mean_file_names_layer_and_file(tmp_path, rgb):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(common_pb2.SingleLabelImageRecord(label=3).SerializeToString())
    with pytest.raises(ShardError, match=r"layer 'rgb': .*bad\.bin: not a mean image"):
        _rgb(f'meanfile: "{bad}"')


def test_registry_holds_every_input_type():
    assert {"kShardData", "kLMDBData", "kLabel", "kMnist", "kRGBImage"} <= set(IMPLEMENTATIONS)


def _caffe_blob(mean: np.ndarray) -> bytes:
    """Caffe's BlobProto {num=1 channels=2 height=3 width=4 data=5 (packed)}, written by hand."""
    c, h, w = mean.shape
    data = mean.astype("<f4").tobytes()
    head = bytes([0x08, 1, 0x10, c, 0x18, h, 0x20, w, 0x2A])
    return head + _varint(len(data)) + data


def _varint(n: int) -> bytes:
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


def test_rgb_reads_a_caffe_binaryproto_mean(tmp_path, rgb):
    batch, images, mean, _ = rgb
    path = tmp_path / "mean.binaryproto"
    path.write_bytes(_caffe_blob(mean))
    x = _rgb(f'meanfile: "{path}"').forward([batch], [], 0)
    np.testing.assert_allclose(x, images - mean, rtol=1e-5, atol=1e-5)
