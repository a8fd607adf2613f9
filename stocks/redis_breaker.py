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
cache ignores as any other) while a background thread pings Redis through the cache's own
client, at once and then backing off to every ``RETRY_SECONDS``; the first answer closes
the breaker. So no request waits on Redis
again until it answers. One warning is logged when it opens and one when it closes; the
ignored errors themselves go to ``stocks.cache_errors`` (one line a minute).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError, TimeoutError

logger = logging.getLogger("stocks.cache")

FIRST_PROBE_SECONDS = 0.1  # a restart takes a moment: the probe asks again soon, then
RETRY_SECONDS = 5.0  # backs off to this between pings while Redis does not answer

_lock = threading.Lock()
_opened_at: float | None = None  # monotonic; None: closed
_generation = 0  # a reset() ends the probe of the failure before it


_probing = threading.local()  # the probe's own calls go through


def _refuse_if_open() -> None:
    opened = _opened_at
    if opened is not None and not getattr(_probing, "active", False):
        raise ConnectionError(
            f"not asked: Redis has not answered for {time.monotonic() - opened:.1f}s"
        )


def _trip(exc: Exception) -> None:
    global _opened_at
    if getattr(_probing, "active", False):
        return  # the probe's failure: still down
    with _lock:
        if _opened_at is not None:
            return
        _opened_at = time.monotonic()
        generation = _generation
    logger.warning(
        "Redis did not answer (%s): the cache is skipped until it answers a ping",
        type(exc).__name__,
    )
    threading.Thread(
        target=_probe_until_up, args=(generation,), name="redis-probe", daemon=True
    ).start()


def _probe_until_up(generation: int) -> None:
    """
    Ping Redis through the cache's own client (its address, credentials and TLS) until it
    answers, at once and then backing off to every RETRY_SECONDS; then close the breaker.
    """
    global _opened_at
    from django_redis import get_redis_connection

    pause = FIRST_PROBE_SECONDS
    _probing.active = True
    while generation == _generation:
        try:
            get_redis_connection("default").ping()
        except Exception:  # noqa: BLE001 - any failure: still down, ask again later
            time.sleep(pause)
            pause = min(pause * 2, RETRY_SECONDS)
            continue
        with _lock:
            if generation != _generation:
                return
            down_for, _opened_at = time.monotonic() - (_opened_at or 0.0), None
        logger.warning("Redis answers again after %.1fs", down_for)
        return


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


class _Guarded:
    """redis-py's connection, behind this process's breaker (mixed in before it)."""

    def connect_check_health(self, *args, **kwargs):
        # A connect (the pool makes one before handing a connection out) to a Redis that
        # is not accepting waits out the connect timeout: not asked either.
        _refuse_if_open()
        try:
            return super().connect_check_health(*args, **kwargs)
        except (ConnectionError, TimeoutError) as exc:
            _trip(exc)
            raise

    def send_packed_command(self, command, check_health=True):
        _refuse_if_open()
        try:
            return super().send_packed_command(command, check_health)
        except (ConnectionError, TimeoutError) as exc:
            _trip(exc)
            raise

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except (ConnectionError, TimeoutError) as exc:
            _trip(exc)
            raise


class GuardedConnection(_Guarded, Connection):
    pass


class GuardedSSLConnection(_Guarded, SSLConnection):
    pass


class GuardedUnixDomainSocketConnection(_Guarded, UnixDomainSocketConnection):
    pass


_BY_SCHEME = {
    "redis": GuardedConnection,
    "rediss": GuardedSSLConnection,
    "unix": GuardedUnixDomainSocketConnection,
}


def connection_class(url: str) -> type[Connection]:
    """The guarded connection class for a Redis URL (settings: CONNECTION_POOL_KWARGS)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in _BY_SCHEME:
        raise ValueError(f"REDIS_URL: unsupported scheme {scheme!r} (redis, rediss, unix)")
    return _BY_SCHEME[scheme]


def _after_fork() -> None:
    global _opened_at, _generation, _lock
    _lock = threading.Lock()
    _opened_at, _generation = None, _generation + 1


os.register_at_fork(after_in_child=_after_fork)
