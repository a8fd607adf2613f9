"""
The most recent queries slower than ``SLOW_QUERY_MS``, for /health/performance/.

With Redis they are kept there (one capped list), so the view shows every worker's and
every box's; without it (the embedded default, one process) they are this process's. A
query that cannot be recorded in Redis is kept in the process instead, and shown with the
rest.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque

from django.core.cache import cache

from . import shared_redis
from .cache_namespaces import cache_key

logger = logging.getLogger(__name__)

KEPT = 50
SQL_CHARS = 2000
WARN_EVERY_SECONDS = 60.0
KEY = cache_key("metrics", "slow-queries")  # in Redis under the cache's prefix and version

_local: deque[dict] = deque(maxlen=KEPT)
_lock = threading.Lock()
_warned_at = -1e9


def record(sql: str, duration_ms: float, route: str) -> None:
    entry = {"sql": sql[:SQL_CHARS], "duration_ms": round(duration_ms, 2), "route": route,
             "at": round(time.time(), 3)}  # fmt: skip
    if shared_redis.available():
        try:
            pipe = shared_redis.client().pipeline()
            pipe.lpush(cache.make_key(KEY), json.dumps(entry))
            pipe.ltrim(cache.make_key(KEY), 0, KEPT - 1)
            pipe.execute()
            return
        except Exception as exc:  # noqa: BLE001 - never fail the request that was slow
            _warn(exc)
    with _lock:
        _local.append(entry)


def recent() -> list[dict]:
    """The slow queries kept, slowest first."""
    with _lock:
        entries = list(_local)
    if shared_redis.available():
        try:
            entries += [
                json.loads(raw)
                for raw in shared_redis.client().lrange(cache.make_key(KEY), 0, KEPT - 1)
            ]
        except Exception as exc:  # noqa: BLE001 - the view still answers
            _warn(exc)
    return sorted(entries, key=lambda e: e["duration_ms"], reverse=True)[:KEPT]


def forget_local() -> None:
    """Forget this process's own (tests; Redis's are the cache's to clear)."""
    with _lock:
        _local.clear()


def _warn(exc: Exception) -> None:
    global _warned_at
    now = time.monotonic()
    if now - _warned_at >= WARN_EVERY_SECONDS:
        _warned_at = now
        logger.warning("slow queries unavailable in Redis: %s: %s", type(exc).__name__, exc)
