"""One rule says whether a peer is on this host (shared memory carries tensors exactly then), for params
and bridges alike: a loopback address or a name or address of this machine is; an address string this
machine cannot bind is not, whatever the peers were told."""
from __future__ import annotations

import socket

import pytest
from singart.distributed.bridges_rpc import links_for
from singart.launch.hosts import same_host


def own_address() -> str | None:
    """A non-loopback address of this machine (the route a UDP connect picks; nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never answered, only routed
        except OSError:
            return None
        addr = s.getsockname()[0]
    return None if addr.startswith("127.") or addr == "0.0.0.0" else str(addr)


@pytest.mark.parametrize(("address", "same"), [
    ("127.0.0.1:5000", True), ("127.3.4.5:5000", True), ("localhost:5000", True), ("[::1]:5000", True),
    ("10.77.0.2:5000", False), ("192.0.2.7:5000", False), ("no-such-host.invalid:5000", False)])
def test_loopback_is_this_host_and_other_addresses_are_not(address: str, same: bool) -> None:
    assert same_host(address) is same


def test_an_own_non_loopback_address_is_this_host() -> None:
    """A one-machine job may listen on the machine's address: its peers still share memory."""
    addr = own_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback address")
    assert same_host(f"{addr}:5000")
    assert same_host(f"{socket.gethostname()}:5000")


def test_bridges_follow_the_same_rule() -> None:
    """Two spellings of loopback are one host; an address of another machine is not."""
    links = links_for(0, {0: "127.0.0.1:1", 1: "localhost:2", 2: "10.77.0.2:3"}, "token")
    assert links[1].same_host and not links[2].same_host
