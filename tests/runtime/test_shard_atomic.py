"""Writers that replace a file (kCreate shards, the mean image, plans) never destroy the previous good one."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import singac
from singa_spec import files as fileio
from singa_spec.plans import read_plan, seal, write_plan
from singart import SingaError
from singart.data.convert import write_image_shard, write_mean_image
from singart.data.records import decode_shard, image_record, read_mean_image
from singart.data.shard import DataShard, kCreate, shard_file


def _images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 4, 4), dtype=np.uint8), rng.integers(0, 10, n)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(fileio.TEMP_PREFIX))


def test_failed_conversion_keeps_the_previous_shard(tmp_path: Path) -> None:
    images, labels = _images(6, 0)
    write_image_shard(str(tmp_path), images, labels, interval=1e9)
    before = Path(shard_file(str(tmp_path))).read_bytes()
    with pytest.raises(RuntimeError, match="disk on fire"), DataShard(str(tmp_path), kCreate) as shard:
        shard.insert("00000", image_record((4, 4), 1, pixel=bytes(16)))
        shard.flush()
        raise RuntimeError("disk on fire")
    assert Path(shard_file(str(tmp_path))).read_bytes() == before
    assert _leftovers(tmp_path) == []
    assert decode_shard(str(tmp_path)).labels.tolist() == labels.tolist()


def test_killed_conversion_keeps_the_previous_shard(tmp_path: Path) -> None:
    images, labels = _images(20, 1)
    write_image_shard(str(tmp_path), images, labels, interval=1e9)
    before = Path(shard_file(str(tmp_path))).read_bytes()
    # A real process converts 500 records over it and is killed (SIGKILL) after writing 300 of them.
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from singart.data import convert, shard
        insert = shard.DataShard.insert
        def dying(self, key, record):
            if key == "00300":
                self.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            return insert(self, key, record)
        shard.DataShard.insert = dying
        convert.write_image_shard({str(tmp_path)!r}, np.zeros((500, 4, 4), np.uint8), np.zeros(500, int), 1e9)
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    assert len(_leftovers(tmp_path)) == 1  # the killed writer's temp file, never renamed into place
    assert Path(shard_file(str(tmp_path))).read_bytes() == before
    assert len(decode_shard(str(tmp_path))) == 20
    write_image_shard(str(tmp_path), *_images(3, 2), interval=1e9)  # the next conversion cleans up
    assert _leftovers(tmp_path) == [] and len(decode_shard(str(tmp_path))) == 3


def test_reader_sees_the_old_shard_until_the_writer_closes(tmp_path: Path) -> None:
    write_image_shard(str(tmp_path), *_images(4, 3), interval=1e9)
    with DataShard(str(tmp_path), kCreate) as shard:
        for i in range(7):
            shard.insert(f"{i:05d}", image_record((4, 4), 0, pixel=bytes(16)))
        shard.flush()
        assert DataShard(str(tmp_path)).count() == 4
    assert DataShard(str(tmp_path)).count() == 7


def _broken_replace(src: str, dst: str) -> None:
    raise OSError(28, "No space left on device")


def test_failed_mean_image_write_keeps_the_previous_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "image_mean.bin")
    images = np.full((2, 3, 2, 2), 10, np.uint8)
    write_mean_image(path, images)
    monkeypatch.setattr(fileio.os, "replace", _broken_replace)
    with pytest.raises(ValueError, match="image_mean.bin: cannot write the mean image"):
        write_mean_image(path, images * 2)
    np.testing.assert_array_equal(read_mean_image(path), 10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image_mean.bin"]


JOB = """name: "plan-io"
train_steps: 1
train_one_batch { alg: kBP }
updater { type: kSGD learning_rate { type: kFixed base_lr: 0.1 } }
cluster { workspace: "ws" }
neuralnet {
  layer { name: "data" type: kShardData sharddata_conf { path: "nowhere" batchsize: 2 shape: 3 } }
  layer { name: "label" type: kLabel srclayers: "data" }
  layer { name: "fc" type: kInnerProduct srclayers: "data" innerproduct_conf { num_output: 2 }
    param { name: "w" } param { name: "b" } }
  layer { name: "loss" type: kSoftmaxLoss srclayers: "fc" srclayers: "label" }
}
"""


def test_failed_plan_write_keeps_the_previous_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "job.pbtxt"
    src.write_text(JOB)
    plan = singac.compile_file(str(src))
    path = tmp_path / "job.plan"
    write_plan(seal(plan), path)
    before = path.read_bytes()
    plan.job.train_steps = 99
    monkeypatch.setattr(fileio.os, "replace", _broken_replace)
    with pytest.raises(SingaError, match="job.plan: cannot write plan: No space left on device"):
        write_plan(seal(plan), path)
    assert path.read_bytes() == before and read_plan(path).job.train_steps == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job.pbtxt", "job.plan"]
