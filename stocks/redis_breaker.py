"""
A frozen Redis costs each process one socket timeout per ``RETRY_SECONDS``, not one per call.

The cache ignores Redis errors (django-redis ``IGNORE_EXCEPTIONS``): reads miss, writes are
dropped, the API answers from the database. But a Redis that hangs (stopped, swapping, a
path that drops packets) answers each call only with ``REDIS_SOCKET_TIMEOUT``, and one
request makes several calls (the data version, the limit counters, the response cache, a
key's last use): 0.5 s each, over a second per request, every request.

``GuardedConnection`` is the redis-py connection of the cache's pool (settings:
``CONNECTION_POOL_KWARGS``), so every call of the cache, and of code using its client (the
limit counters' script), goes through it. After a call times out or cannot connect, the
process stops asking: every call fails at once with the same ``ConnectionError`` (which the
cache ignores as any other) while a background thread pings Redis on a connection of its own
every ``RETRY_SECONDS``; the first answer closes the breaker. So no request waits on Redis
again until it answers. One warning is logged when it opens and one when it closes; the
ignored errors themselves go to ``stocks.cache_errors`` (one line a minute).
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from redis.connection import Connection
from redis.exceptions import ConnectionError, RedisError, TimeoutError

logger = logging.getLogger("stocks.cache")

RETRY_SECONDS = 5.0  # between the probe's pings while Redis does not answer

_lock = threading.Lock()
_opened_at: float | None = None  # monotonic; None: closed
_generation = 0  # a reset() ends the probe of the failure before it


def _refuse_if_open() -> None:
    opened = _opened_at
    if opened is not None:
        raise ConnectionError(
            f"not asked: Redis has not answered for {time.monotonic() - opened:.1f}s"
        )


def _trip(exc: Exception, url: str) -> None:
    global _opened_at
    with _lock:
        if _opened_at is not None:
            return
        _opened_at = time.monotonic()
        generation = _generation
    logger.warning(
        "Redis did not answer (%s): the cache is skipped until it answers a ping (every %.0fs)",
        type(exc).__name__,
        RETRY_SECONDS,
    )
    threading.Thread(
        target=_probe_until_up, args=(url, generation), name="redis-probe", daemon=True
    ).start()


def _probe_until_up(url: str, generation: int) -> None:
    """Ping Redis on a connection of its own until it answers; then close the breaker."""
    global _opened_at
    probe = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        while generation == _generation:
            time.sleep(RETRY_SECONDS)
            try:
                probe.ping()
            except RedisError:
                continue
            with _lock:
                if generation != _generation:
                    return
                down_for, _opened_at = time.monotonic() - (_opened_at or 0.0), None
            logger.warning("Redis answers again after %.1fs", down_for)
            return
    finally:
        probe.close()


def open_for() -> float | None:
    """Seconds since Redis stopped answering this process, while it still has not."""
    opened = _opened_at
    return None if opened is None else time.monotonic() - opened


def reset() -> None:
    """Forget a failure, and stop its probe (tests)."""
    global _opened_at, _generation
    with _lock:
        _opened_at = None
        _generation += 1


class GuardedConnection(Connection):
    """redis-py's TCP connection, behind this process's breaker."""

    def connect_check_health(self, *args, **kwargs):
        # A connect (the pool makes one before handing a connection out) to a Redis that
        # is not accepting waits out the connect timeout: not asked either.
        _refuse_if_open()
        try:
            return super().connect_check_health(*args, **kwargs)
        except (ConnectionError, TimeoutError) as exc:
            _trip(exc, self._url())
            raise

    def send_packed_command(self, command, check_health=True):
        _refuse_if_open()
        try:
            return super().send_packed_command(command, check_health)
        except (ConnectionError, TimeoutError) as exc:
            _trip(exc, self._url())
            raise

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except (ConnectionError, TimeoutError) as exc:
            _trip(exc, self._url())
            raise

    def _url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{self.db}"
