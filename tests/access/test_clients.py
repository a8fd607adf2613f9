"""The anonymous caller's address and subnet (stocks.access.clients)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from stocks.access.clients import client_address, client_subnet


def request(remote="198.51.100.7", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("trusted", "forwarded", "address"),
    [
        (0, "203.0.113.9", "198.51.100.7"),  # no proxy of ours: the header is the client's
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # a forged left part is ignored
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "203.0.113.9", "203.0.113.9"),  # fewer hops than proxies: the leftmost
        (1, "not-an-ip", "198.51.100.7"),  # garbage: the socket's peer
        (1, "", "198.51.100.7"),
        (1, None, "198.51.100.7"),
    ],
)
def test_client_address__only_through_trusted_proxies(settings, trusted, forwarded, address):
    settings.TRUSTED_PROXY_COUNT = trusted
    assert client_address(request(forwarded=forwarded)) == address


@pytest.mark.parametrize(
    ("remote", "subnet"),
    [
        ("203.0.113.9", "203.0.113.0/24"),
        ("203.0.113.250", "203.0.113.0/24"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.0/24"),  # IPv4-mapped: its IPv4 subnet
        ("fe80::1%eth0", "fe80::/64"),
        ("", "unknown"),
    ],
)
def test_client_subnet__ipv4_24_ipv6_64(settings, remote, subnet):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_subnet(request(remote=remote)) == subnet
