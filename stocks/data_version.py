"""
The data version: a number in the cache that changes whenever the data changes.

Cached responses put the version in their key (``stocks/caching.py``), so a change makes
all of them stale at once without scanning keys; the stale entries simply expire.

A version must never come back: an answer cached under it would become current again.
So the counter is not restarted at 1 when its key is missing (first start, eviction, a
flushed Redis) but seeded with the current time in microseconds, which is past every
version handed out before (versions advance by one per change, far fewer than a million a
second), as long as the clock does not go back by more than the time since the last seed.

When the cache cannot keep values (Redis down, its errors ignored), ``current()`` and
``bump()`` return None and callers bypass their caches. ``current()`` then answers None
without asking for ``CACHE_DOWN_RETRY_SECONDS``: a Redis that hangs costs one request its
socket timeouts, not every request.

Each process remembers the version it last read for ``DATA_VERSION_CHECK_SECONDS``
(default 1 s): ``current()`` answers from memory, so a hit on this process's own recent
answers costs no round trip at all. Anything that reads the data (a render, a snapshot
build) asks ``current(fresh=True)`` first, so nothing is rendered or stored under a version
the data has already left. A process sees its own changes at once, and serves its own
answers of the previous version for at most that long after another process's change.
The remembered version only moves forward.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from . import redis_breaker

KEY = "stocks:data-version"
CACHE_DOWN_RETRY_SECONDS = redis_breaker.RETRY_SECONDS

_down_until = 0.0
# (version, monotonic time it was read): replaced whole, so threads never see half of it.
_known: tuple[int, float] | None = None
_known_lock = threading.Lock()


def _seed() -> int:
    return time.time_ns() // 1000


def current(*, fresh: bool = False) -> int | None:
    """
    The current version, or None when the cache cannot keep it. Remembered for
    DATA_VERSION_CHECK_SECONDS unless ``fresh``: read it fresh before reading the data.
    """
    global _down_until
    now = time.monotonic()
    known = _known
    if not fresh and known is not None and now - known[1] < settings.DATA_VERSION_CHECK_SECONDS:
        return known[0]
    if now < _down_until:
        return None
    version = cache.get(KEY)
    if version is None:
        cache.add(KEY, _seed(), timeout=None)  # a concurrent first reader may win: fine
        version = cache.get(KEY)  # None again: the add did not stick
    if version is None:
        _down_until = time.monotonic() + CACHE_DOWN_RETRY_SECONDS
        _remember(None)
        return None
    return _remember(int(version), now)


def _remember(version: int | None, at: float | None = None) -> int | None:
    """
    Remember ``version`` (None: forget). Never backwards: a read that started before this
    process's own bump may finish after it, and must not bring the old version back.
    """
    global _known
    with _known_lock:
        if version is None:
            _known = None
            return None
        if _known is not None and _known[0] > version:
            version = _known[0]
        _known = (version, time.monotonic() if at is None else at)
        return version


def cache_recovered() -> None:
    """
    Forget a cache failure and the version this process last read (tests, and an operator
    who just restarted Redis): the next call asks the cache.
    """
    global _down_until
    _down_until = 0.0
    _remember(None)


def bump() -> int | None:
    """Move to a new version (atomically); None when the cache cannot keep it."""
    replaced = cache.get(KEY)
    if replaced is not None:  # before the move, so no reader sees it unrecorded
        _record_end(int(replaced))
    try:
        version = cache.incr(KEY)
    except ValueError:  # the key is missing: a fresh seed is itself a version never used
        cache.add(KEY, _seed(), timeout=None)
        try:
            version = cache.incr(KEY)
        except ValueError:  # the add did not stick either
            return _remember(None)
    if version is not None and int(version) - 1 != replaced:
        _record_end(int(version) - 1)  # another process moved it meanwhile
    # None: a Redis error was ignored. Either way this process sees its own change at once.
    return _remember(None if version is None else int(version))


_ENDED = f"{KEY}:ended:"


def _ended_key(version: int) -> str:
    return f"{_ENDED}{version}"


def is_history(key: str) -> bool:
    """A key of when a version ended (clear_cache keeps them, as it keeps the version)."""
    return key.startswith(_ENDED)


def _record_end(version: int) -> None:
    # Kept as long as a cursor may outlive its version: the key's expiry is the clock
    # (the cache's own, one for every server), its value only says when, for operators.
    cache.add(_ended_key(version), time.time(), settings.CURSOR_MAX_AGE_SECONDS)


def ended_recently(version: int) -> bool:
    """``version`` was replaced less than CURSOR_MAX_AGE_SECONDS ago (in this cache)."""
    return cache.get(_ended_key(version)) is not None


def shared() -> bool:
    """
    The version is one for every process. Not with the local-memory cache: each process
    then counts its own versions (a cursor made by one worker could not be placed by another).
    """
    return not isinstance(caches["default"], LocMemCache)


def mark_changed(using: str | None = None) -> None:
    """
    Record a write to the data: the version moves when its transaction commits (at once
    outside a transaction), so no reader sees a new version before the new data, and one
    transaction moves it once however many writes it makes (an ingest's batches).
    """
    connection = connections[using or DEFAULT_DB_ALIAS]
    if connection.in_atomic_block:
        # Entries are (savepoint ids, func, robust). One registered in this block or an
        # enclosing one (an earlier batch of the same ingest) runs at the same commit and
        # survives any rollback this write would: it will do.
        block = set(connection.savepoint_ids)
        if any(ids <= block and func is bump for ids, func, _ in connection.run_on_commit):
            return
    _on_commit(bump, using)


def _on_commit(func, using: str | None) -> None:  # a seam: the tests' transaction never commits
    transaction.on_commit(func, using=using, robust=True)
