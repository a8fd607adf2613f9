"""
The provider's request rate: one token bucket that every worker draws from.

A provider's plan allows so many requests a minute for the account, not per process, so the
bucket lives in the cache's Redis and one Lua script takes a token atomically, on Redis's
own clock (``TIME``): workers on different hosts share it without comparing their clocks.
A caller that finds the bucket empty is told how long until its token and sleeps that
long; its token is reserved (the bucket goes below zero), so callers are served in the
order they asked and none is starved. A wait longer than the caller will accept reserves
nothing and raises ``RateLimited``.

Without Redis (the embedded default, one process) the same bucket runs in this process's
memory. If Redis fails, the process falls back to its own bucket at the full rate and
logs it: slower than the plan allows is not needed, and the provider's 429 (honoured by
the retries) is the backstop.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from .. import shared_redis
from ..cache_namespaces import cache_key
from .base import ProviderUnavailable

logger = logging.getLogger("stocks.providers")

# KEYS[1]: the bucket (a hash: tokens, at). ARGV: tokens per second, capacity, the longest
# wait the caller accepts. Answers the seconds to wait (as a string: Redis truncates a
# Lua number to an integer), or "-<seconds>" when that wait is refused (nothing taken).
_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens < 1 then
  wait = (1 - tokens) / rate
end
if wait > max_wait then
  return '-' .. tostring(wait)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil((capacity + 1 - (tokens - 1)) / rate) + 60)
return tostring(wait)
"""


class RateLimited(ProviderUnavailable):
    """No token within the wait the caller accepts; nothing was sent to the provider."""


@dataclass(frozen=True)
class Rate:
    per_minute: float
    burst: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0

    @classmethod
    def configured(cls) -> Rate:
        return cls(settings.PROVIDER_REQUESTS_PER_MINUTE, settings.PROVIDER_BURST)


class _LocalBucket:
    """The same bucket in this process's memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def reserve(self, key: str, rate: Rate, max_wait: float) -> float:
        with self._lock:
            now = time.monotonic()
            tokens, at = self._state.get(key, (float(rate.burst), now))
            tokens = min(rate.burst, tokens + max(0.0, now - at) * rate.per_second)
            wait = (1 - tokens) / rate.per_second if tokens < 1 else 0.0
            if wait > max_wait:
                return -wait
            self._state[key] = (tokens - 1, now)
            return wait

    def clear(self) -> None:
        with self._lock:
            self._state.clear()


_local = _LocalBucket()
_warned_at = -1e9
WARN_EVERY_SECONDS = 60.0


def bucket_key(provider: str) -> str:
    return cache_key("provider", "bucket", provider)


def _redis_reserve(key: str, rate: Rate, max_wait: float) -> float:
    # The cache's own prefix and version, as every key of the app in Redis.
    answer = shared_redis.script(_SCRIPT)(
        keys=[cache.make_key(key)], args=[rate.per_second, rate.burst, max_wait]
    )
    return float(answer)


def reserve(provider: str, *, max_wait: float, rate: Rate | None = None) -> float:
    """
    Take one token of ``provider``'s bucket: the seconds the caller must wait before its
    request (0: go now). Raises ``RateLimited`` if that would be over ``max_wait``.
    """
    global _warned_at
    rate = rate or Rate.configured()
    if rate.per_minute <= 0:
        return 0.0  # no limit configured
    key = bucket_key(provider)
    wait = None
    if shared_redis.available():
        try:
            wait = _redis_reserve(key, rate, max_wait)
        except Exception as exc:  # noqa: BLE001 - any Redis failure: the process's own bucket
            now = time.monotonic()
            if now - _warned_at >= WARN_EVERY_SECONDS:
                _warned_at = now
                logger.warning(
                    "provider rate bucket unavailable (%s: %s); this process keeps its own",
                    type(exc).__name__,
                    exc,
                )
    if wait is None:
        wait = _local.reserve(key, rate, max_wait)
    if wait < 0:
        raise RateLimited(
            f"{provider}: over {rate.per_minute:g} requests a minute; the next token is "
            f"{-wait:.1f}s away (longer than the {max_wait:.0f}s this call may wait)",
            retry_after=-wait,
        )
    return wait


def acquire(provider: str, *, max_wait: float, rate: Rate | None = None) -> float:
    """``reserve`` and sleep until the token is due; the seconds slept."""
    wait = reserve(provider, max_wait=max_wait, rate=rate)
    if wait > 0:
        _sleep(wait)
    return wait


def _sleep(seconds: float) -> None:  # a seam for the tests
    time.sleep(seconds)


def reset_local() -> None:
    """Forget this process's bucket (tests)."""
    _local.clear()
