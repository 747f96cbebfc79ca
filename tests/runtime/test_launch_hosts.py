"""The `--hosts` file: what it may hold, an error naming the file and line for everything else, and
whether it names only this machine."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest
from singart import SingaError
from singart.launch.hosts import Host, only_this_machine, read_hosts


def _file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "hosts.txt"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_hosts_slots_comments_and_blank_lines(tmp_path: Path) -> None:
    path = _file(tmp_path, "# the cluster\n\n10.0.0.1\n  gpu-box   slots=2  # two GPUs\n::1 slots=3\n"
                           "\t\nnode_7.example.org\n")
    assert read_hosts(path) == [Host("10.0.0.1", 1, 3), Host("gpu-box", 2, 4), Host("::1", 3, 5),
                                Host("node_7.example.org", 1, 7)]


@pytest.mark.parametrize("text, message", [
    ("a\nb slots=x\n", "hosts.txt:2: slots='x' is not a whole number >= 1"),
    ("a slots=0\n", "hosts.txt:1: slots='0' is not a whole number >= 1"),
    ("a slots=-2\n", "hosts.txt:1: slots='-2' is not a whole number >= 1"),
    ("a slots=\n", "hosts.txt:1: slots='' is not a whole number >= 1"),
    ("a slots=1 slots=2\n", "hosts.txt:1: slots is given twice"),
    ("a max_slots=4\n", "hosts.txt:1: unexpected 'max_slots=4' after the host; a line is `HOST [slots=N]`"),
    ("a b\n", "hosts.txt:1: unexpected 'b' after the host"),
    ("a slots 2\n", "hosts.txt:1: unexpected 'slots' after the host"),
    ("\n\nhost:22\n", "hosts.txt:3: 'host:22' is not a host name or an IP address"),
    ("-bad\n", "hosts.txt:1: '-bad' is not a host name or an IP address"),
    ("a..b\n", "hosts.txt:1: 'a..b' is not a host name or an IP address"),
    ("a\n# b\nA slots=2\n", "hosts.txt:3: host A is listed again (first on line 1); give it slots=N on one line"),
    ("", "hosts.txt: lists no host (one host name or address per line)"),
    ("# only a comment\n\n", "hosts.txt: lists no host"),
    (b"\xff\xfe10.0.0.1\n", "hosts.txt: not a text file (UTF-8) of host names"),
])
def test_bad_hosts_file(tmp_path: Path, text: str | bytes, message: str) -> None:
    with pytest.raises(SingaError) as err:
        read_hosts(_file(tmp_path, text))
    assert str(err.value).startswith(f"{tmp_path / 'hosts.txt'}{message[len('hosts.txt'):]}")


def test_missing_hosts_file(tmp_path: Path) -> None:
    with pytest.raises(SingaError, match=r"nope\.txt: cannot read hosts file: No such file or directory"):
        read_hosts(tmp_path / "nope.txt")


def _hosts(*names: str) -> list[Host]:
    return [Host(n, 1, i + 1) for i, n in enumerate(names)]


def _own_address() -> str | None:
    """This machine's source address towards another network (a UDP connect sends nothing), if it is
    not loopback."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("198.51.100.7", 9))
            address = str(s.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") else address


@pytest.mark.parametrize("names", [
    ("localhost",), ("127.0.0.1",), ("127.0.1.1",), ("LOCALHOST", "127.0.0.1"), (socket.gethostname(),),
    (socket.gethostname().upper(), "localhost"),
])
def test_only_this_machine(names: tuple[str, ...]) -> None:
    assert only_this_machine(_hosts(*names))


def test_ipv6_loopback_is_this_machine() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    assert only_this_machine(_hosts("::1"))


def test_this_machines_own_address_is_this_machine() -> None:
    address = _own_address()
    if address is None:
        pytest.skip("this machine has no route to another network, so no address but loopback to test")
    assert only_this_machine(_hosts(address, "localhost"))


@pytest.mark.parametrize("names", [
    ("198.51.100.7",),  # TEST-NET-2: documentation only
    ("localhost", "203.0.113.5"),  # TEST-NET-3
    ("host.invalid",),  # the .invalid domain never resolves
    ("2001:db8::1",),
])
def test_another_machine_is_not_this_one(names: tuple[str, ...]) -> None:
    assert not only_this_machine(_hosts(*names))
