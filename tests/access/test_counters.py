"""Exact counters: concurrent requests never share the last unit (stocks.access.counters)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache

from stocks.access import counters
from stocks.access.counters import Window

from ..support.redis import redis_cache_settings

# A day boundary in 2033: counters on Redis expire at their window's end, so "now" must be
# in the future of the real clock.
T0 = 1_999_958_400


def windows(limit_minute=100, limit_day=1000, tag="t") -> list[Window]:
    return [
        Window("minute", 60, limit_minute, f"throttle:test:{tag}"),
        Window("day", 86_400, limit_day, f"throttle:test:{tag}"),
    ]


@pytest.fixture(params=["locmem", pytest.param("redis", marks=pytest.mark.services)])
def backend(request, settings):
    if request.param == "redis":
        settings.CACHES = redis_cache_settings(request.getfixturevalue("redis_url"))
        yield "redis"
        cache.delete_pattern("*")
    else:
        counters.reset_local()
        yield "locmem"


def test_hit__counts_until_the_limit_then_refuses_without_counting(backend):
    now = T0 + 30.0
    w = windows(limit_minute=3)
    results = [counters.hit(w, 1, now=now) for _ in range(5)]
    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert [r.used for r in results[:3]] == [(1, 1), (2, 2), (3, 3)]
    assert results[3].refused_by == w[0] and results[3].used == (3, 3)
    assert counters.peek(w, now=now).used == (3, 3)  # refusals took nothing


def test_hit__all_or_nothing_across_windows(backend):
    now = T0 + 30.0
    w = windows(limit_minute=100, limit_day=2)
    assert counters.hit(w, 2, now=now).allowed
    refused = counters.hit(w, 1, now=now)
    assert not refused.allowed and refused.refused_by == w[1]
    assert counters.peek(w, now=now).used == (2, 2)


def test_hit__a_new_window_starts_from_zero(backend):
    w = windows(limit_minute=1)
    assert counters.hit(w, 1, now=T0 + 120.0).allowed
    assert not counters.hit(w, 1, now=T0 + 179.9).allowed
    assert counters.hit(w, 1, now=T0 + 180.0).allowed  # the next minute (the day goes on: 2)
    assert counters.peek(w, now=T0 + 180.0).used == (1, 2)


def test_hit__cost_larger_than_what_is_left_refused(backend):
    w = windows(limit_minute=5)
    assert counters.hit(w, 4, now=T0 + 60.0).allowed
    assert not counters.hit(w, 2, now=T0 + 60.0).allowed
    assert counters.hit(w, 1, now=T0 + 60.0).allowed


@pytest.mark.parametrize("threads", [16, 64])
def test_hit__exact_under_concurrency(backend, threads):
    """200 concurrent requests with 100 units left: exactly 100 admitted."""
    w = windows(limit_minute=1_000, limit_day=150, tag=f"race{threads}")
    now = T0 + 30.0
    for _ in range(50):
        counters.hit(w, 1, now=now)
    start = threading.Barrier(threads)

    def one(_):
        if _ < threads:
            start.wait()
        return counters.hit(w, 1, now=now).allowed

    with ThreadPoolExecutor(threads) as pool:
        admitted = sum(pool.map(one, range(200)))
    assert admitted == 100
    assert counters.peek(w, now=now).used == (150, 150)


@pytest.mark.services
def test_redis__keys_expire_with_their_window(redis_url, settings):
    settings.CACHES = redis_cache_settings(redis_url)
    import time

    w = windows(tag="ttl")
    counters.hit(w, 1, now=time.time())
    from django_redis import get_redis_connection

    client = get_redis_connection("default")
    ttls = sorted(client.ttl(key) for key in client.keys(cache.make_key("throttle:test:ttl*")))
    assert len(ttls) == 2
    assert 0 < ttls[0] <= 61 and 60 < ttls[1] <= 86_401
    cache.delete_pattern("*")
