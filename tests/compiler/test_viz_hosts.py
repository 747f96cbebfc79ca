"""`singac viz --hosts`: a hosts file places the plan's ranks on hosts, and the picture marks cross-host links."""
from __future__ import annotations

import pytest
from singa_spec.hosts import Host, assign_hosts, parse_hosts
from singac.errors import SingaError

from .jobs import mlp
from .test_viz_cli import installed_singac, one_line_error
from .test_viz_traffic import cluster

SEPARATE = "nworkers_per_procs: 1 server_worker_separate: true"  # ranks 0, 1: a worker each; rank 2: the server


def test_hosts_one_per_line_with_slots_and_comments():
    text = "# the cluster\nnode-a slots=2   # two ranks\n\n  node-b\n10.0.0.3 slots=1\n"
    assert parse_hosts(text, "hosts.txt") == [Host("node-a", 2, 2), Host("node-b", 1, 4), Host("10.0.0.3", 1, 5)]


def test_ranks_fill_hosts_in_file_order_honouring_slots():
    hosts = [Host("a", 2, 1), Host("b", 1, 2), Host("c", 3, 3)]
    assert assign_hosts(hosts, 4, "hosts.txt") == {0: "a", 1: "a", 2: "b", 3: "c"}


@pytest.mark.parametrize("text, words", [
    ("a\nb slots=0\n", ["hosts.txt:2:", "slots", "'0'"]),
    ("a\nb slots=two\n", ["hosts.txt:2:", "'two'"]),
    ("a\n\nb cores=2\n", ["hosts.txt:3:", "'cores=2'", "slots=N"]),
    ("a slots=1 slots=2\n", ["hosts.txt:1:", "slots is given twice"]),
    ("a\nb\nA\n", ["hosts.txt:3:", "host A", "listed again", "line 1"]),
    ("# nothing but comments\n\n", ["hosts.txt:", "lists no host"]),
])
def test_bad_hosts_lines_name_file_and_line(text, words):
    with pytest.raises(SingaError) as e:
        parse_hosts(text, "hosts.txt")
    assert all(w in str(e.value) for w in words), str(e.value)


def test_too_few_slots_is_an_error():
    with pytest.raises(SingaError, match=r"hosts.txt: the hosts have 2 slots in all but the plan has 3 processes"):
        assign_hosts([Host("a", 1, 1), Host("b", 1, 2)], 3, "hosts.txt")


def job(tmp_path, fields: str = SEPARATE, dim: int = 1):
    path = tmp_path / "job.pbtxt"
    path.write_text(cluster(mlp(2, dim), fields))
    return str(path)


def test_cli_draws_each_ranks_host_and_marks_cross_host_links(tmp_path):
    (tmp_path / "hosts.txt").write_text("node-a slots=2\nnode-b\n")
    out = tmp_path / "net.svg"
    done = installed_singac("viz", job(tmp_path), "-o", str(out), "--hosts", str(tmp_path / "hosts.txt"))
    assert done.returncode == 0, done.stderr
    svg = out.read_text()
    assert ">rank 0 on node-a<" in svg and ">rank 1 on node-a<" in svg  # the two worker frames
    assert ">rank 2 on node-b: s0<" in svg
    # Ranks 0 and 1 share node-a: only the server's links (528 B each way per worker) cross hosts.
    assert "2.11 KB/step across 2 hosts" in svg
    assert ">rank 0 -&gt; rank 2: push 528 B, pull 528 B (cross-host)<" in svg
    assert '>1.44 KB<' in svg and ">528 B*<" in svg and ">* crosses hosts<" in svg


def test_cli_without_hosts_marks_nothing_cross_host(tmp_path):
    out = tmp_path / "net.svg"
    done = installed_singac("viz", job(tmp_path), "-o", str(out))
    assert done.returncode == 0, done.stderr
    svg = out.read_text()
    assert "cross-host" not in svg and "across" not in svg and ">rank 0<" in svg


def test_cli_bad_hosts_line_is_one_line_error(tmp_path):
    (tmp_path / "hosts.txt").write_text("node-a\nnode-b slots=x\n")
    result = installed_singac("viz", job(tmp_path), "-o", str(tmp_path / "x.svg"), "--hosts",
                              str(tmp_path / "hosts.txt"))
    one_line_error(result, "hosts.txt:2:", "slots")
    assert not (tmp_path / "x.svg").exists()


def test_cli_too_few_slots_and_missing_file_are_one_line_errors(tmp_path):
    (tmp_path / "hosts.txt").write_text("node-a slots=2\n")
    one_line_error(installed_singac("viz", job(tmp_path), "-o", str(tmp_path / "x.svg"), "--hosts",
                                    str(tmp_path / "hosts.txt")), "hosts.txt", "2 slots", "3 processes")
    one_line_error(installed_singac("viz", job(tmp_path), "-o", str(tmp_path / "x.svg"), "--hosts",
                                    str(tmp_path / "absent.txt")), "absent.txt", "cannot read")
