"""
Who an anonymous caller is: its address, taken from ``X-Forwarded-For`` only through the
proxies we run (``TRUSTED_PROXY_COUNT``), grouped into its subnet (IPv4 /24, IPv6 /64), so
one network cannot rotate addresses around its limit.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

IPV4_PREFIX = 24
IPV6_PREFIX = 64


def client_address(request) -> str:
    """
    The caller's address. With N trusted proxies in front, the N-th address from the
    right of ``X-Forwarded-For`` is the one the outermost of them saw (what a client
    writes itself stands further left and is ignored); with none, the socket's peer.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if forwarded:
            candidate = forwarded[-min(trusted, len(forwarded))]
            if parse_address(candidate) is not None:
                return candidate
    return remote


def client_subnet(request) -> str:
    """``203.0.113.0/24`` or ``2001:db8:1:2::/64``; the raw text when it is not an address."""
    address = client_address(request)
    parsed = parse_address(address)
    if parsed is None:
        return address or "unknown"
    prefix = IPV4_PREFIX if parsed.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address in ``text`` (a zone id dropped, an IPv4-mapped IPv6 address as IPv4), or None."""
    try:
        parsed = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed
