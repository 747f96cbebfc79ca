"""`singart run` reads the memory available (cgroup files, /proc/meminfo) and refuses a plan whose
estimate exceeds it, before allocating anything."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import singac
from singa_spec import SingaError
from singa_spec.plans import write_plan
from singart.memory import cgroup_available, check_fits, meminfo_available, resident

GIB = 1 << 30
# a batch of 100,000 through 32 wide inner products: each tensor within the 2^31 elements a tensor may
# hold, the whole near 300 GiB; the biggest is fc2 (its input's gradient is fc1's 2e9-element output)
HUGE = """name: "huge"
train_steps: 2
train_one_batch { alg: kBP }
updater { type: kSGD learning_rate { type: kFixed base_lr: 0.1 } }
cluster { workspace: "WS" }
neuralnet {
  layer { name: "data" type: kShardData sharddata_conf { path: "absent" batchsize: 100000 shape: 100 } }
  layer { name: "mnist" type: kMnist srclayers: "data" mnist_conf { norm_a: 255 norm_b: 0.5 } }
  layer { name: "label" type: kLabel srclayers: "data" }
  layer { name: "fc1" type: kInnerProduct srclayers: "mnist" innerproduct_conf { num_output: 20000 }
    param { name: "w1" } param { name: "b1" } }
  layer { name: "fc2" type: kInnerProduct srclayers: "fc1" innerproduct_conf { num_output: 10000 }
    param { name: "w2" } param { name: "b2" } }
  layer { name: "fc3" type: kInnerProduct srclayers: "fc2" innerproduct_conf { num_output: 10000 }
    param { name: "w3" } param { name: "b3" } }
  layer { name: "fc4" type: kInnerProduct srclayers: "fc3" innerproduct_conf { num_output: 10000 }
    param { name: "w4" } param { name: "b4" } }
  layer { name: "fc5" type: kInnerProduct srclayers: "fc4" innerproduct_conf { num_output: 10000 }
    param { name: "w5" } param { name: "b5" } }
  layer { name: "fc6" type: kInnerProduct srclayers: "fc5" innerproduct_conf { num_output: 10000 }
    param { name: "w6" } param { name: "b6" } }
  layer { name: "fc7" type: kInnerProduct srclayers: "fc6" innerproduct_conf { num_output: 10000 }
    param { name: "w7" } param { name: "b7" } }
  layer { name: "fc8" type: kInnerProduct srclayers: "fc7" innerproduct_conf { num_output: 10000 }
    param { name: "w8" } param { name: "b8" } }
  layer { name: "fc9" type: kInnerProduct srclayers: "fc8" innerproduct_conf { num_output: 10000 }
    param { name: "w9" } param { name: "b9" } }
  layer { name: "fc10" type: kInnerProduct srclayers: "fc9" innerproduct_conf { num_output: 10000 }
    param { name: "w10" } param { name: "b10" } }
  layer { name: "fc11" type: kInnerProduct srclayers: "fc10" innerproduct_conf { num_output: 10000 }
    param { name: "w11" } param { name: "b11" } }
  layer { name: "fc12" type: kInnerProduct srclayers: "fc11" innerproduct_conf { num_output: 10000 }
    param { name: "w12" } param { name: "b12" } }
  layer { name: "fc13" type: kInnerProduct srclayers: "fc12" innerproduct_conf { num_output: 10000 }
    param { name: "w13" } param { name: "b13" } }
  layer { name: "fc14" type: kInnerProduct srclayers: "fc13" innerproduct_conf { num_output: 10000 }
    param { name: "w14" } param { name: "b14" } }
  layer { name: "fc15" type: kInnerProduct srclayers: "fc14" innerproduct_conf { num_output: 10000 }
    param { name: "w15" } param { name: "b15" } }
  layer { name: "fc16" type: kInnerProduct srclayers: "fc15" innerproduct_conf { num_output: 10000 }
    param { name: "w16" } param { name: "b16" } }
  layer { name: "fc17" type: kInnerProduct srclayers: "fc16" innerproduct_conf { num_output: 10000 }
    param { name: "w17" } param { name: "b17" } }
  layer { name: "fc18" type: kInnerProduct srclayers: "fc17" innerproduct_conf { num_output: 10000 }
    param { name: "w18" } param { name: "b18" } }
  layer { name: "fc19" type: kInnerProduct srclayers: "fc18" innerproduct_conf { num_output: 10000 }
    param { name: "w19" } param { name: "b19" } }
  layer { name: "fc20" type: kInnerProduct srclayers: "fc19" innerproduct_conf { num_output: 10000 }
    param { name: "w20" } param { name: "b20" } }
  layer { name: "fc21" type: kInnerProduct srclayers: "fc20" innerproduct_conf { num_output: 10000 }
    param { name: "w21" } param { name: "b21" } }
  layer { name: "fc22" type: kInnerProduct srclayers: "fc21" innerproduct_conf { num_output: 10000 }
    param { name: "w22" } param { name: "b22" } }
  layer { name: "fc23" type: kInnerProduct srclayers: "fc22" innerproduct_conf { num_output: 10000 }
    param { name: "w23" } param { name: "b23" } }
  layer { name: "fc24" type: kInnerProduct srclayers: "fc23" innerproduct_conf { num_output: 10000 }
    param { name: "w24" } param { name: "b24" } }
  layer { name: "fc25" type: kInnerProduct srclayers: "fc24" innerproduct_conf { num_output: 10000 }
    param { name: "w25" } param { name: "b25" } }
  layer { name: "fc26" type: kInnerProduct srclayers: "fc25" innerproduct_conf { num_output: 10000 }
    param { name: "w26" } param { name: "b26" } }
  layer { name: "fc27" type: kInnerProduct srclayers: "fc26" innerproduct_conf { num_output: 10000 }
    param { name: "w27" } param { name: "b27" } }
  layer { name: "fc28" type: kInnerProduct srclayers: "fc27" innerproduct_conf { num_output: 10000 }
    param { name: "w28" } param { name: "b28" } }
  layer { name: "fc29" type: kInnerProduct srclayers: "fc28" innerproduct_conf { num_output: 10000 }
    param { name: "w29" } param { name: "b29" } }
  layer { name: "fc30" type: kInnerProduct srclayers: "fc29" innerproduct_conf { num_output: 10000 }
    param { name: "w30" } param { name: "b30" } }
  layer { name: "fc31" type: kInnerProduct srclayers: "fc30" innerproduct_conf { num_output: 10000 }
    param { name: "w31" } param { name: "b31" } }
  layer { name: "fc32" type: kInnerProduct srclayers: "fc31" innerproduct_conf { num_output: 10000 }
    param { name: "w32" } param { name: "b32" } }
  layer { name: "loss" type: kSoftmaxLoss srclayers: "fc32" srclayers: "label" }
}
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_cgroup_v2_takes_the_tightest_level(tmp_path: Path) -> None:
    proc = _write(tmp_path / "cgroup", "0::/user.slice/job\n")
    root = tmp_path / "fs"
    _write(root / "user.slice" / "job" / "memory.max", "max\n")  # no limit here
    _write(root / "user.slice" / "memory.max", f"{8 * GIB}\n")
    _write(root / "user.slice" / "memory.current", f"{3 * GIB}\n")
    _write(root / "memory.max", f"{64 * GIB}\n")
    _write(root / "memory.current", f"{1 * GIB}\n")
    assert cgroup_available(proc, root) == 5 * GIB


def test_cgroup_page_cache_the_kernel_can_drop_counts_as_room(tmp_path: Path) -> None:
    # usage counts the page cache (shards just written or read); its inactive part is reclaimed before
    # the kernel kills anything, so the room is the limit less the working set, as kubelet counts it
    proc = _write(tmp_path / "cgroup", "4:memory:/\n0::/job\n")
    root = tmp_path / "fs"
    _write(root / "job" / "memory.max", f"{4 * GIB}\n")
    _write(root / "job" / "memory.current", f"{4 * GIB - 4096}\n")
    _write(root / "job" / "memory.stat", f"anon {GIB}\nfile {3 * GIB}\ninactive_file {2 * GIB}\n")
    assert cgroup_available(proc, root) == 2 * GIB + 4096
    _write(root / "memory" / "memory.limit_in_bytes", f"{3 * GIB}\n")
    _write(root / "memory" / "memory.usage_in_bytes", f"{3 * GIB}\n")
    _write(root / "memory" / "memory.stat", f"inactive_file 0\ntotal_inactive_file {GIB}\n")
    assert cgroup_available(proc, root) == GIB


def test_cgroup_v1_memory_controller_in_a_namespace(tmp_path: Path) -> None:
    # the path names the host's cgroup; inside a cgroup namespace the mount's root is that cgroup
    proc = _write(tmp_path / "cgroup", "5:cpu,cpuacct:/x\n4:memory:/host/job42\n0::/\n")
    root = tmp_path / "fs"
    _write(root / "memory" / "memory.limit_in_bytes", f"{2 * GIB}\n")
    _write(root / "memory" / "memory.usage_in_bytes", f"{GIB // 2}\n")
    assert cgroup_available(proc, root) == GIB + GIB // 2


def test_no_limit_and_no_controller(tmp_path: Path) -> None:
    root = tmp_path / "fs"
    _write(root / "memory" / "memory.limit_in_bytes", "9223372036854771712\n")  # v1's "unlimited"
    assert cgroup_available(_write(tmp_path / "v1", "4:memory:/\n"), root) is None
    assert cgroup_available(_write(tmp_path / "none", "1:cpu:/\n"), root) is None
    assert cgroup_available(tmp_path / "missing", root) is None


def test_meminfo(tmp_path: Path) -> None:
    info = _write(tmp_path / "meminfo", "MemTotal:  32000000 kB\nMemAvailable:  1048576 kB\n")
    assert meminfo_available(info) == GIB
    assert meminfo_available(_write(tmp_path / "old", "MemTotal: 1 kB\n")) is None


def test_check_fits_names_the_biggest_layer(tmp_path: Path) -> None:
    plan = singac.compile_file(str(_write(tmp_path / "huge.pbtxt", HUGE)))
    check_fits(plan, "huge.bin", room=1 << 60)  # fits in an exabyte
    with pytest.raises(SingaError, match=r"huge.bin needs ~\d+\.\d GiB per process \(biggest: layer "
                                         r"'fc2' .* of activations\), 1.0 GiB available; lower the batch size"):
        check_fits(plan, "huge.bin", room=GIB)


def test_run_refuses_a_plan_that_cannot_fit_before_allocating(tmp_path: Path) -> None:
    job = _write(tmp_path / "huge.pbtxt", HUGE.replace("WS", str(tmp_path / "ws")))
    plan = tmp_path / "huge.bin"
    write_plan(singac.compile_file(str(job)), plan)
    err = tmp_path / "stderr"
    with err.open("w") as f:
        child = subprocess.Popen([str(Path(sys.executable).parent / "singart"), "run", str(plan)],
                                 stdout=subprocess.DEVNULL, stderr=f)
        _, status, usage = os.wait4(child.pid, 0)
    lines = err.read_text().splitlines()
    assert os.waitstatus_to_exitcode(status) == 2
    assert len(lines) == 1 and lines[0].startswith(f"singart: error: {plan} needs ~")
    assert "layer 'fc2'" in lines[0] and "available" in lines[0]
    # nothing of the terabytes was allocated. A child's peak counts this process's pages too, held when
    # it forked (Linux keeps the high-water mark across exec): the bound is over this process's own peak.
    assert usage.ru_maxrss * 1024 < (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) + (256 << 20)
    assert not (tmp_path / "ws").exists()  # refused before the workspace was made


def test_resident_bytes_of_this_process(tmp_path: Path) -> None:
    assert resident() > 1 << 20  # an interpreter with NumPy holds megabytes
    page = os.sysconf("SC_PAGE_SIZE")
    assert resident(_write(tmp_path / "statm", "5000 1000 300 10 0 900 0\n")) == 1000 * page
    assert resident(tmp_path / "absent") == 0
