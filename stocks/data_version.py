"""
The data version: a counter in the cache that every ingest bumps.

Cached responses put the version in their key, so an ingest makes all of them stale at
once without scanning keys.
"""

from __future__ import annotations

from django.core.cache import cache

KEY = "stocks:data-version"


def current() -> int:
    version = cache.get(KEY)
    if version is None:
        cache.add(KEY, 1, timeout=None)
        version = cache.get(KEY, 1)
    return int(version)


def bump() -> int:
    try:
        return cache.incr(KEY)
    except ValueError:  # the key expired or was evicted: start a new sequence
        cache.add(KEY, 2, timeout=None)
        return int(cache.get(KEY, 2))
