"""End to end, as a user runs the char-rnn example, at small sizes (GRU hidden 16, unroll 8, batch 4):
`singart data text` on a text file, `singac compile` of the example's job with those sizes, `singart
run`, then `singart sample` from its checkpoint with the runtime's own GRU cell."""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

from google.protobuf import text_format
from singa_proto import job_pb2
from singart.data.text import pydoc_topics

ROOT = Path(__file__).resolve().parents[2]
HIDDEN, UNROLL, BATCH, STEPS, SAMPLED = 16, 8, 4, 12, 60
BIN = Path(sys.executable).parent


def cli(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(BIN / tool), *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done


def small_job(data: Path, vocab: int) -> str:
    """The example's job file with the test's sizes, data and workspace."""
    job = text_format.Parse((ROOT / "examples" / "char-rnn" / "job.pbtxt").read_text(), job_pb2.JobProto())
    job.train_steps, job.disp_freq, job.validate_freq, job.checkpoint_freq = STEPS, 3, 6, 6
    job.validate_steps = 2
    job.cluster.workspace = "ws"
    for layer in job.neuralnet.layer:
        if layer.type == job_pb2.kShardData:
            name = Path(layer.sharddata_conf.path).name
            layer.sharddata_conf.path, layer.sharddata_conf.batchsize = str(data / name), BATCH
            layer.sharddata_conf.shape[:] = [UNROLL + 1]
        elif layer.type == job_pb2.kEmbedding:
            layer.embedding_conf.vocab_size, layer.embedding_conf.word_dim = vocab, 8
        elif layer.type == job_pb2.kGRU:
            layer.unroll_len, layer.rnn_conf.dim = UNROLL, HIDDEN
        elif layer.type == job_pb2.kInnerProduct:
            layer.innerproduct_conf.num_output = vocab
    return text_format.MessageToString(job)


def metric_lines(log: str) -> list[tuple[str, float, float]]:
    """(label, loss, ppl) of every log line."""
    pattern = r"(Train|Validation) @ step \d+: loss = ([^,\s]+),.*ppl = ([^,\s]+)"
    return [(label, float(loss), float(ppl)) for label, loss, ppl in re.findall(pattern, log)]


def test_char_rnn_trains_logs_perplexity_and_samples_from_its_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "text.txt").write_text(pydoc_topics()[:20000])
    cli("singart", "data", "text", "text.txt", "--unroll-len", str(UNROLL), "--streams", str(BATCH),
        "-o", "data", cwd=tmp_path)
    vocab = json.loads((tmp_path / "data" / "vocab.json").read_text())["chars"]
    (tmp_path / "job.pbtxt").write_text(small_job(tmp_path / "data", len(vocab)))
    cli("singac", "compile", "job.pbtxt", "-o", "job.plan", cwd=tmp_path)
    log = cli("singart", "run", "job.plan", cwd=tmp_path).stdout

    lines = metric_lines(log)
    assert [label for label, _, _ in lines].count("Train") == STEPS // 3
    assert [label for label, _, _ in lines].count("Validation") == STEPS // 6
    for _, loss, ppl in lines:  # both printed to 6 significant digits
        assert math.isclose(ppl, math.exp(loss), rel_tol=2e-5), (loss, ppl)
    train = [loss for label, loss, _ in lines if label == "Train"]
    assert train[-1] < train[0]  # it learns (the seeded run is the same every time)

    prime = "The "
    done = cli("singart", "sample", "job.plan", "--prime", prime, "-n", str(SAMPLED), "--seed", "3",
               cwd=tmp_path)
    assert f"checkpoint step {STEPS}" in done.stderr
    text = done.stdout[:-1]  # print's newline
    assert text.startswith(prime) and len(text) == len(prime) + SAMPLED
    assert set(text) <= set(vocab)
