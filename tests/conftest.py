"""Shared fixtures."""

from __future__ import annotations

import copy
import logging
import os
from concurrent.futures import wait

import pytest
import redis
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.utils import ConnectionHandler
from rest_framework.test import APIClient

from stocks import alerts, caching, data_version, metrics, slow_queries
from stocks.access import counters, keys, throttles
from stocks.health import CHECKS, checks
from stocks.logging import OncePerInterval
from stocks.screen import snapshots

from .factories import PriceBarFactory, StockFactory
from .support.redis import CLOSED_PORT_REDIS_URL, REDIS_TEST_URL, redis_cache_settings

# Nothing listens on tcpmux: connections are refused at once.
CLOSED_PORT = 1


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    caching.forget_local()
    data_version.cache_recovered()
    counters.reset_local()
    yield
    cache.clear()
    caching.forget_local()
    data_version.cache_recovered()
    counters.reset_local()


@pytest.fixture(autouse=True)
def _fresh_outage_logs():
    """Each test's outage is the first of its minute: its first line is logged."""
    for name in ("stocks.cache_errors", "stocks.database_errors"):
        for once in logging.getLogger(name).filters:
            if isinstance(once, OncePerInterval):
                once.reset()


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Limits are off except where they are the subject (the ``limits`` fixture)."""
    settings.RATE_LIMITS_ENABLED = False


@pytest.fixture
def limits(settings, monkeypatch):
    """
    The plans' limits on, counted from zero, plans and keys read afresh, and the machine
    not overloaded (whatever its real load: the overload test sets its own).
    """
    settings.RATE_LIMITS_ENABLED = True
    monkeypatch.setattr(throttles, "load_per_core", lambda: 0.0)
    counters.reset_local()
    keys.forget()
    yield
    keys.forget()


@pytest.fixture(autouse=True)
def _no_health_check_left_running():
    """
    A check abandoned at its time limit keeps running (a later caller shares its result):
    let it finish before the next test, whose settings it would otherwise answer for.
    """
    yield
    for check in CHECKS.values():
        running, check._running = check._running, None
        if running is not None:
            wait([running], timeout=10)


@pytest.fixture(autouse=True)
def _writes_commit(monkeypatch):
    """
    The test's own transaction never commits: a write made directly in it (a factory, an
    update) moves the data version at once, as the same write in autocommit would. Inside
    an atomic block of the code (a savepoint here) the real wait for the commit stays.
    """

    def on_commit(func, using):
        if connections[using or DEFAULT_DB_ALIAS].savepoint_ids:
            transaction.on_commit(func, using=using, robust=True)
        else:
            func()

    monkeypatch.setattr(data_version, "_on_commit", on_commit)


@pytest.fixture(autouse=True)
def _fresh_metrics():
    """Every test counts its own requests and errors (metrics, slow queries, mailed errors)."""
    metrics.clear()
    slow_queries.forget_local()
    alerts.forget_local()
    yield
    metrics.clear()
    slow_queries.forget_local()
    alerts.forget_local()


HEALTH_TOKEN = "operator-token-for-tests"


@pytest.fixture
def health_token(settings) -> str:
    settings.HEALTH_TOKEN = HEALTH_TOKEN
    return HEALTH_TOKEN


@pytest.fixture
def operator(health_token) -> APIClient:
    """A client of its own carrying the health token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {health_token}")
    return client


@pytest.fixture
def sql_screen(settings):
    """Screens run on the database (the reference), not on the engine's snapshot."""
    settings.SCREEN_ENGINE = "sql"


@pytest.fixture(autouse=True)
def _no_snapshot_between_tests():
    """Each test's snapshot is built from its own data (versions never repeat anyway)."""
    yield
    snapshots.forget()


@pytest.fixture
def stock_factory(db):
    return StockFactory


@pytest.fixture
def bar_factory(db):
    return PriceBarFactory


@pytest.fixture
def database_down(monkeypatch, settings, tmp_path):
    """The health checks' database connection points at nothing: a server that is down."""
    config = copy.deepcopy(settings.DATABASES[DEFAULT_DB_ALIAS])
    if connection.vendor == "sqlite":
        config["NAME"] = str(tmp_path / "no-such-directory" / "db.sqlite3")
    else:
        config["HOST"], config["PORT"] = "127.0.0.1", CLOSED_PORT
    unreachable = ConnectionHandler({DEFAULT_DB_ALIAS: config})
    monkeypatch.setattr(checks, "connections", unreachable)
    yield
    unreachable.close_all()


@pytest.fixture
def redis_url():
    """Redis database 15, or a skip when Redis is absent (a failure in CI)."""
    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("STOCKSCANNER_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is required but unreachable at {REDIS_TEST_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_TEST_URL}")
    return REDIS_TEST_URL


@pytest.fixture(params=["locmem", pytest.param("redis", marks=pytest.mark.services)])
def any_cache(request, settings):
    """The default cache on each supported backend (Redis keys under a prefix of their own)."""
    if request.param == "redis":
        settings.CACHES = redis_cache_settings(request.getfixturevalue("redis_url"))
        yield cache
        cache.delete_pattern("*")  # only this test's prefix: never FLUSHDB a shared Redis
    else:
        yield cache


@pytest.fixture
def redis_down(settings):
    """django-redis at a closed port with errors ignored: Redis down in production."""
    settings.CACHES = redis_cache_settings(CLOSED_PORT_REDIS_URL)


# --- market-data providers -----------------------------------------------------------------


@pytest.fixture
def http():
    """Every HTTP request must match a registered response; none reaches the network."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def slept(monkeypatch):
    """The waits the retries and the rate limit asked for, instead of sleeping them."""
    from stocks.providers import calls, rate_limit

    waits: list[float] = []
    monkeypatch.setattr(calls, "_sleep", waits.append)
    monkeypatch.setattr(rate_limit, "_sleep", waits.append)
    return waits


@pytest.fixture
def provider_settings(settings):
    """Massive at its documented URL with a test key; no rate limit unless a test sets one."""
    from stocks.providers import rate_limit
    from tests.support.providers import BASE

    settings.MASSIVE_API_URL = BASE
    settings.MASSIVE_API_KEY = "test-key"
    settings.PROVIDER_REQUESTS_PER_MINUTE = 0
    settings.PROVIDER_BACKOFF_SECONDS = 2.0
    settings.PROVIDER_BACKOFF_MAX_SECONDS = 30.0
    settings.PROVIDER_MAX_ATTEMPTS = 4
    rate_limit.reset_local()
    yield settings
    rate_limit.reset_local()
