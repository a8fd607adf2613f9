"""
Warming the response cache: the hot answers rendered for the current data version before
a member asks, so the first visitor after a refresh is served from the cache too.

Each path is requested through the whole Django stack in this process (``django.test``'s
client: middleware, view, cache), as a member's request would be, at ``CACHE_WARM_BASE_URL``'s
scheme and host (answers whose links are absolute are cached per host). The answers
themselves are dropped: what matters is that the shared cache now holds them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.test import Client

from ..access.throttles import INTERNAL

logger = logging.getLogger("stocks.tasks")


@dataclass
class WarmResult:
    warmed: list[str] = field(default_factory=list)
    failed: dict[str, int] = field(default_factory=dict)  # path -> HTTP status


def warm(*, paths: Iterable[str], base_url: str | None = None) -> WarmResult:
    """Request each path (GET, gzip accepted) at ``base_url``; which answered 200."""
    base = urlsplit(base_url or settings.CACHE_WARM_BASE_URL)
    client = Client(
        raise_request_exception=False,
        HTTP_HOST=base.netloc,
        HTTP_ACCEPT_ENCODING="gzip",
        REMOTE_ADDR="127.0.0.1",
        # Not a member's request: no plan's limits apply (an anonymous quota would run out
        # by early morning at one warm a minute).
        **{INTERNAL: "warming"},
    )
    result = WarmResult()
    for path in paths:
        response = client.get(path, secure=base.scheme == "https")
        if response.status_code == 200:
            result.warmed.append(path)
        else:
            result.failed[path] = response.status_code
    if result.failed:
        logger.warning("cache warming: %s", ", ".join(f"{p} {s}" for p, s in result.failed.items()))
    return result
