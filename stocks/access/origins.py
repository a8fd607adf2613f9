"""
Origins as browsers send them (``Origin: https://example.com``): parsed, checked and
normalised once, so a key's list and a request's header compare as plain strings.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SEPARATORS = re.compile(r"[\s,]+")
logger = logging.getLogger("stocks.access")


class InvalidOrigin(ValueError):
    pass


def normalize_origin(value: str) -> str:
    """``HTTPS://Example.com:443`` -> ``https://example.com``; anything else raises."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidOrigin(f"{value!r} is not an origin.") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise InvalidOrigin(
            f"{value!r} is not an origin: give scheme and host, e.g. https://example.com."
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidOrigin(f"{value!r} is not an origin: no path, query or user part.")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_origins(text: str) -> list[str]:
    """A list of origins, separated by newlines, commas or spaces; duplicates dropped."""
    return list(dict.fromkeys(normalize_origin(item) for item in _SEPARATORS.split(text) if item))


def valid_origins(text: str) -> list[str]:
    """
    The origins of a stored list, skipping (and logging) an entry that is not one: a row
    written around the model's validation must not turn every request into an error.
    """
    found = []
    for item in _SEPARATORS.split(text):
        if not item:
            continue
        try:
            found.append(normalize_origin(item))
        except InvalidOrigin:
            logger.warning("ignoring %r in a key's allowed origins: not an origin", item)
    return list(dict.fromkeys(found))


def request_origin(request) -> str | None:
    """
    The normalised ``Origin`` of a browser request; None without one. ``null`` (a sandboxed
    page, a file) is kept as it is: no key's origin, so a bound key refuses it.
    """
    value = request.META.get("HTTP_ORIGIN")
    if not value:
        return None
    if value == "null":
        return value
    try:
        return normalize_origin(value)
    except InvalidOrigin:
        return value  # never equal to a normalised origin: refused by any bound key
