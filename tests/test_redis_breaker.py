"""
stocks/redis_breaker.py against a Redis of the test's own, frozen with SIGSTOP: after one
timeout the cache answers at once (misses, dropped writes) until the probe finds Redis back.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import caches

from stocks import redis_breaker

from .support.redis import redis_cache_settings
from .support.servers import RedisServer

pytestmark = pytest.mark.services


@pytest.fixture(params=["", "p@ss/w#rd"], ids=["no password", "password to quote"])
def frozen_cache(request, tmp_path, settings, monkeypatch):
    server = RedisServer(tmp_path, password=request.param)
    config = redis_cache_settings(server.url)
    config["default"]["OPTIONS"].update(
        SOCKET_TIMEOUT=0.3,
        SOCKET_CONNECT_TIMEOUT=0.3,
        CONNECTION_POOL_KWARGS={"connection_class": redis_breaker.connection_class(server.url)},
    )
    settings.CACHES = config
    monkeypatch.setattr(redis_breaker, "RETRY_SECONDS", 0.5)
    redis_breaker.reset()
    caches.close_all()
    cache = caches["default"]
    cache.set("k", "before")
    assert cache.get("k") == "before"
    yield server, cache
    redis_breaker.reset()
    server.stop()
    caches.close_all()


def _timed(call):
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started


def test_one_timeout_then_every_call_answers_at_once(frozen_cache, caplog, monkeypatch):
    server, cache = frozen_cache
    trips = []
    trip = redis_breaker._trip
    monkeypatch.setattr(redis_breaker, "_trip", lambda exc: (trips.append(exc), trip(exc)))
    server.freeze()
    value, first = _timed(lambda: cache.get("k"))
    # One timeout (0.3 s) waited, counted (a loaded machine once added 0.33 s to the clock).
    assert value is None and 0.3 <= first < 1.0
    assert len(trips) == 1, trips
    assert redis_breaker.open_for() is not None
    for call in (lambda: cache.get("k"), lambda: cache.set("k", 1), lambda: cache.add("x", 1)):
        _value, elapsed = _timed(call)
        assert elapsed < 0.05
    assert any("Redis did not answer" in r.getMessage() for r in caplog.records)


def test_new_connections_are_not_tried_either(frozen_cache):
    """A Redis that accepts no connection would cost each connect its timeout."""
    server, cache = frozen_cache
    server.freeze()
    cache.get("k")  # opens the breaker
    caches.close_all()  # the next call needs a new connection
    _value, elapsed = _timed(lambda: caches["default"].get("k"))
    assert elapsed < 0.05


def test_probe_closes_it_once_redis_answers(frozen_cache, caplog):
    server, cache = frozen_cache
    server.freeze()
    cache.get("k")
    server.thaw()
    deadline = time.monotonic() + 5
    while redis_breaker.open_for() is not None:
        assert time.monotonic() < deadline, "the probe did not find Redis back"
        time.sleep(0.05)
    cache.set("k", "after")
    assert cache.get("k") == "after"
    assert any("Redis answers again" in r.getMessage() for r in caplog.records)


def test_a_brief_restart_costs_well_under_retry_seconds(frozen_cache, monkeypatch):
    """The probe asks at once, then backs off: a blip is over in a fraction of a second."""
    server, cache = frozen_cache
    monkeypatch.setattr(redis_breaker, "RETRY_SECONDS", 5.0)
    server.freeze()
    cache.get("k")
    server.thaw()
    started = time.monotonic()
    while redis_breaker.open_for() is not None:
        assert time.monotonic() - started < 1.0, "a blip kept the cache off"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("url", "kind"),
    [("redis://h:6379/0", "GuardedConnection"), ("rediss://h:6380/0", "GuardedSSLConnection"),
     ("unix:///run/redis.sock?db=0", "GuardedUnixDomainSocketConnection")],
)  # fmt: skip
def test_connection_class_follows_the_url_scheme(url, kind):
    assert redis_breaker.connection_class(url).__name__ == kind


def test_unknown_scheme_refused():
    with pytest.raises(ValueError, match="unsupported scheme"):
        redis_breaker.connection_class("http://h/0")
