"""Record shards (SINGA's DataShard), record batches, and converters from raw data sets."""
from __future__ import annotations

from .records import RecordBatch, ShardArrays, image_record, load_shard, read_mean_image
from .shard import DataShard, ShardError, kAppend, kCreate, kRead

__all__ = ["DataShard", "RecordBatch", "ShardArrays", "ShardError", "image_record", "kAppend",
           "kCreate", "kRead", "load_shard", "read_mean_image"]
