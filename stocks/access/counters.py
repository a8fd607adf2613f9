"""
Exact, atomic window counters: the whole check-and-count of a request is one step.

With Redis (django-redis) it is one Lua script, one round trip: it reads every window's
counter, refuses if any would go over its limit (counting nothing), else adds the cost to
all of them, setting each new counter's expiry. Concurrent requests cannot both take the
last unit, as they can with a read-modify-write (DRF's own throttle). Without Redis the
same runs under a lock in this process's memory (the embedded default: one process).

If Redis fails, the request is allowed (fail open: limits protect capacity, an outage of
the counters must not become an outage of the API) and one warning is logged per minute;
for the next REDIS_RETRY_SECONDS requests are let through without asking, so a Redis that
hangs costs one request its socket timeout, not every request.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache

from .. import redis_breaker, shared_redis

logger = logging.getLogger("stocks.access")

WARN_EVERY_SECONDS = 60.0
REDIS_RETRY_SECONDS = redis_breaker.RETRY_SECONDS
LOCAL_MAX_COUNTERS = 100_000

# KEYS: one counter per window; ARGV: cost, then per window its limit and the Unix time its
# window ends (the counter expires then, however late in the window it was created).
# Answers {allowed (0/1), index of the refusing window (1-based, 0: none), used...}.
_SCRIPT = """
local cost = tonumber(ARGV[1])
local used = {}
local refused = 0
for i, key in ipairs(KEYS) do
  used[i] = tonumber(redis.call('GET', key) or '0')
  if refused == 0 and used[i] + cost > tonumber(ARGV[2 * i]) then
    refused = i
  end
end
if refused > 0 or cost == 0 then
  return {refused > 0 and 0 or 1, refused, unpack(used)}
end
for i, key in ipairs(KEYS) do
  used[i] = redis.call('INCRBY', key, cost)
  if used[i] == cost or redis.call('TTL', key) < 0 then
    redis.call('EXPIREAT', key, ARGV[2 * i + 1])
  end
end
return {1, 0, unpack(used)}
"""


@dataclass(frozen=True)
class Window:
    """One fixed window of one counter: ``limit`` units per ``seconds``, aligned to the epoch."""

    name: str  # "minute", "day", "second"
    seconds: int
    limit: int
    key: str  # the counter's cache key, without the window's index

    def index(self, now: float) -> int:
        return int(now // self.seconds)

    def resets_at(self, now: float) -> int:
        return (self.index(now) + 1) * self.seconds


@dataclass(frozen=True)
class Count:
    allowed: bool
    used: tuple[int, ...]  # per window, after this request (before it, when refused)
    refused_by: Window | None
    counted: bool  # False: the counters could not be reached, the request was let through


def hit(windows: list[Window], cost: int, *, now: float | None = None) -> Count:
    """Count ``cost`` units against every window, all or nothing."""
    return _count(windows, cost, time.time() if now is None else now)


def peek(windows: list[Window], *, now: float | None = None) -> Count:
    """The windows' counters, unchanged (what the usage endpoint shows)."""
    return _count(windows, 0, time.time() if now is None else now)


def _count(windows: list[Window], cost: int, now: float) -> Count:
    global _redis_down_until
    keys = [f"{window.key}:{window.seconds}:{window.index(now)}" for window in windows]
    if shared_redis.available():
        uncounted = Count(True, tuple(0 for _ in windows), None, counted=False)
        if time.monotonic() < _redis_down_until:
            return uncounted
        try:
            answer = _redis_script()(
                keys=[cache.make_key(key) for key in keys],
                args=[cost, *(v for w in windows for v in (w.limit, w.resets_at(now) + 1))],
            )
        except Exception as exc:  # noqa: BLE001 - any failure of the counters: fail open
            _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            _warn(exc)
            return uncounted
        allowed, refused, *used = (int(value) for value in answer)
        return Count(bool(allowed), tuple(used), windows[refused - 1] if refused else None, True)
    return _local.count(keys, windows, cost, now)


class _LocalCounters:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def count(self, keys: list[str], windows: list[Window], cost: int, now: float) -> Count:
        with self._lock:
            if len(self._counts) > LOCAL_MAX_COUNTERS:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
                if len(self._counts) > LOCAL_MAX_COUNTERS // 2:  # all live: oldest out
                    kept = list(self._counts.items())[-(LOCAL_MAX_COUNTERS // 2) :]
                    self._counts = dict(kept)
            used = [self._used(key, now) for key in keys]
            for window, n in zip(windows, used, strict=True):
                if n + cost > window.limit:
                    return Count(False, tuple(used), window, True)
            if cost:
                for key, window in zip(keys, windows, strict=True):
                    n = self._used(key, now) + cost
                    self._counts[key] = (n, window.resets_at(now))
                used = [n + cost for n in used]
            return Count(True, tuple(used), None, True)

    def _used(self, key: str, now: float) -> int:
        found = self._counts.get(key)
        return 0 if found is None or found[1] <= now else found[0]

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


_local = _LocalCounters()
_warned_at = -1e9
_redis_down_until = 0.0


def reset_local() -> None:
    """Forget this process's counters and any Redis failure (tests)."""
    global _redis_down_until
    _local.clear()
    _redis_down_until = 0.0


def _redis_script():
    """The script, registered on the cache's client (a seam for the tests)."""
    return shared_redis.script(_SCRIPT)


def _warn(exc: Exception) -> None:
    global _warned_at
    now = time.monotonic()
    if now - _warned_at >= WARN_EVERY_SECONDS:
        _warned_at = now
        logger.warning(
            "rate-limit counters unavailable (%s: %s); requests are let through uncounted",
            type(exc).__name__,
            exc,
        )
