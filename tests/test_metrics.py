"""
Prometheus metrics (stocks/metrics.py), GET /metrics and the operator views that read them
(/health/metrics/, /health/performance/). Several gunicorn workers summed:
tests/deploy/test_metrics_workers.py.
"""

from __future__ import annotations

import io

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from stocks import data_version, metrics, slow_queries
from stocks.cache_namespaces import cache_key
from stocks.providers import calls
from stocks.providers.base import ProviderRefused, ProviderUnavailable
from stocks.providers.breaker import CircuitBreaker
from stocks.screen import snapshots
from stocks.task_locks import single_run

from .factories import StockFactory
from .support.redis import redis_cache_settings

METRICS_TOKEN = "metrics-token-for-tests"
pytestmark = pytest.mark.django_db


@pytest.fixture
def scraper(settings) -> APIClient:
    settings.METRICS_TOKEN = METRICS_TOKEN
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    return client


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics: {(sample name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- who may read /metrics ----------------------------------------------------------------


def test_metrics__closed_without_the_token_or_an_allowed_network(api, settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    response = api.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.json()["error"]["code"] == "not_authenticated"
    assert b"stockscanner_" not in response.content


@pytest.mark.parametrize("token", ["wrong", METRICS_TOKEN + "x", ""])
def test_metrics__a_wrong_token_is_refused(api, settings, token):
    settings.METRICS_TOKEN = METRICS_TOKEN
    response = api.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_metrics__no_token_configured_refuses_every_token(api, settings):
    settings.METRICS_TOKEN = ""
    response = api.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 401
    response = api.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 401


def test_metrics__the_token_opens_it_in_the_prometheus_format(scraper):
    response = scraper.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert response["Cache-Control"] == "no-store"
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {
        "stockscanner_http_requests",
        "stockscanner_http_request_duration_seconds",
        "stockscanner_http_requests_in_flight",
        "stockscanner_db_queries_per_request",
        "stockscanner_response_cache_lookups",
        "stockscanner_screen_snapshot_version",
        "stockscanner_screen_snapshot_built_timestamp_seconds",
        "stockscanner_screen_snapshot_build_seconds",
        "stockscanner_provider_requests",
        "stockscanner_celery_tasks",
        "stockscanner_provider_circuit_state",
    } <= names


def test_metrics__openmetrics_when_asked(scraper):
    response = scraper.get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


@pytest.mark.parametrize(
    ("networks", "address", "allowed"),
    [
        (["10.0.0.0/8"], "10.1.2.3", True),
        (["10.0.0.0/8"], "::ffff:10.1.2.3", True),  # IPv4 mapped, as a dual-stack socket says
        (["10.0.0.0/8", "2001:db8::/32"], "2001:db8::7", True),
        (["10.0.0.0/8"], "192.0.2.1", False),
        ([], "127.0.0.1", False),  # no network configured: not even loopback
    ],
)
def test_metrics__allowed_networks(api, settings, networks, address, allowed):
    import ipaddress

    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = tuple(ipaddress.ip_network(n) for n in networks)
    response = api.get("/metrics", REMOTE_ADDR=address)
    assert response.status_code == (200 if allowed else 401)


@pytest.mark.parametrize("trusted_proxies", [0, 1])
def test_metrics__the_network_is_the_connecting_address_never_x_forwarded_for(
    api, settings, trusted_proxies
):
    import ipaddress

    settings.TRUSTED_PROXY_COUNT = trusted_proxies
    settings.METRICS_ALLOWED_NETWORKS = (ipaddress.ip_network("10.0.0.0/8"),)
    outside = api.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.4.4.4")
    assert outside.status_code == 401
    inside = api.get("/metrics", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert inside.status_code == 200


def test_metrics__with_or_without_the_slash_and_by_its_own_address(scraper, settings):
    """Prometheus scrapes an instance by its address over plain HTTP, as load balancers do."""
    settings.ALLOWED_HOSTS = ["api.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    for path in ("/metrics", "/metrics/"):
        assert scraper.get(path, HTTP_HOST="10.0.3.17:8000").status_code == 200


def test_metrics__read_only(scraper):
    assert scraper.head("/metrics").status_code == 200
    response = scraper.post("/metrics")
    assert response.status_code == 405
    assert response.json()["error"]["status"] == 405


# --- what is counted ----------------------------------------------------------------------


def test_requests__by_route_template_method_and_status(api, scraper):
    StockFactory(ticker="AAPL")
    StockFactory(ticker="MSFT")
    for ticker in ("AAPL", "MSFT", "MSFT"):
        assert api.get(f"/api/stocks/{ticker}/").status_code == 200
    assert api.get("/api/stocks/NOPE/").status_code == 404
    assert api.get("/no/such/page/").status_code == 404
    api.generic("BREW", "/api/stocks/")
    samples = scrape(scraper)
    detail = "/api/stocks/<ticker>/"
    total = "stockscanner_http_requests_total"
    assert value(samples, total, route=detail, method="GET", status="200") == 3
    assert value(samples, total, route=detail, method="GET", status="404") == 1
    assert value(samples, total, route="(unmatched)", method="GET", status="404") == 1
    assert value(samples, total, route="/api/stocks/", method="other", status="405") == 1
    # never the raw path, never the client's method
    assert not [key for key in samples if "AAPL" in str(key) or "BREW" in str(key)]
    count = "stockscanner_http_request_duration_seconds_count"
    assert value(samples, count, route=detail, method="GET") == 4
    inf = value(
        samples, "stockscanner_http_request_duration_seconds_bucket",
        route=detail, method="GET", le="+Inf",
    )  # fmt: skip
    assert inf == 4
    # The first request of each ticker asks the database (a repeat may come from the cache).
    assert value(samples, "stockscanner_db_queries_per_request_sum", route=detail) >= 2
    assert value(samples, "stockscanner_db_queries_per_request_count", route=detail) == 4


def test_requests__probes_answered_early_are_counted_under_their_route(api, scraper):
    api.get("/health/live/")
    api.get("/health/live")
    samples = scrape(scraper)
    total = "stockscanner_http_requests_total"
    assert value(samples, total, route="/health/live/", method="GET", status="200") == 2


def test_requests__in_flight_counts_the_scrape_itself(scraper):
    samples = scrape(scraper)
    assert value(samples, "stockscanner_http_requests_in_flight") == 1
    assert metrics.IN_FLIGHT._value.get() == 0  # and it went back down


def test_response_cache__hits_and_misses_by_endpoint(api, scraper, settings):
    settings.RESPONSE_CACHE_ENABLED = True
    StockFactory()
    for _ in range(3):
        assert api.get("/api/stocks/?ordering=ticker").status_code == 200
    samples = scrape(scraper)
    name = "stockscanner_response_cache_lookups_total"
    endpoints = {dict(labels)["endpoint"] for (sample, labels) in samples if sample == name}
    assert len(endpoints) == 1
    (endpoint,) = endpoints
    assert value(samples, name, endpoint=endpoint, result="miss") == 1
    assert value(samples, name, endpoint=endpoint, result="hit") == 2


def test_response_cache__bypass_when_off(api, scraper, settings):
    settings.RESPONSE_CACHE_ENABLED = False
    StockFactory()
    assert api.get("/api/stocks/").status_code == 200
    samples = scrape(scraper)
    name = "stockscanner_response_cache_lookups_total"
    assert (
        sum(v for (s, labels), v in samples.items() if s == name and ("result", "bypass") in labels)
        == 1
    )


def test_screen_snapshot__version_build_time_and_when(api, scraper, settings):
    import time

    settings.SCREEN_ENGINE = "numpy"
    StockFactory.create_batch(3)
    before = time.time()
    builds = value(scrape(scraper), "stockscanner_screen_snapshot_build_seconds_count")
    build_seconds = value(scrape(scraper), "stockscanner_screen_snapshot_build_seconds_sum")
    assert api.get("/api/stocks/?ordering=-change_percent").status_code == 200
    held = snapshots.held()
    assert held is not None
    samples = scrape(scraper)
    assert value(samples, "stockscanner_screen_snapshot_version") == held.version
    assert held.version == data_version.current(fresh=True)
    assert (
        before
        <= value(samples, "stockscanner_screen_snapshot_built_timestamp_seconds")
        <= time.time()
    )
    assert value(samples, "stockscanner_screen_snapshot_build_seconds_count") == builds + 1
    assert value(samples, "stockscanner_screen_snapshot_build_seconds_sum") == pytest.approx(
        build_seconds + held.built_in
    )


def test_provider_requests__each_try_by_outcome_and_circuit_state(
    scraper, provider_settings, slept, settings
):
    settings.MARKET_DATA_PROVIDER = "massive"
    settings.PROVIDER_MAX_ATTEMPTS = 2
    settings.PROVIDER_BREAKER_FAILURES = 2
    answers = iter([ProviderUnavailable("timeout"), "quotes"])

    def flaky():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert calls.call("massive", flaky, endpoint="quotes", what="snapshot") == "quotes"

    def refused():
        raise ProviderRefused("401")

    for _ in range(2):  # opens the listings breaker
        with pytest.raises(ProviderRefused):
            calls.call("massive", refused, endpoint="listings", what="tickers")
    with pytest.raises(Exception, match="open"):
        calls.call("massive", refused, endpoint="listings", what="tickers")

    samples = scrape(scraper)
    name = "stockscanner_provider_requests_total"
    assert value(samples, name, provider="massive", endpoint="quotes", outcome="unavailable") == 1
    assert value(samples, name, provider="massive", endpoint="quotes", outcome="ok") == 1
    assert value(samples, name, provider="massive", endpoint="listings", outcome="refused") == 2
    assert (
        value(samples, name, provider="massive", endpoint="listings", outcome="circuit_open") == 1
    )
    state = "stockscanner_provider_circuit_state"
    assert value(samples, state, provider="massive", endpoint="listings", state="open") == 1
    assert value(samples, state, provider="massive", endpoint="listings", state="closed") == 0
    assert value(samples, state, provider="massive", endpoint="quotes", state="closed") == 1
    CircuitBreaker("massive", "listings").reset()


def test_celery_tasks__outcomes(scraper):
    from stocks import tasks

    StockFactory()
    assert tasks.recompute_indicators.apply().successful()
    with single_run("recompute-indicators", "someone-else") as mine:
        assert mine
        assert tasks.recompute_indicators.apply().result is None  # skipped
    samples = scrape(scraper)
    name = "stockscanner_celery_tasks_total"
    assert value(samples, name, task="recompute-indicators", outcome="succeeded") == 1
    assert value(samples, name, task="recompute-indicators", outcome="skipped") == 1


def test_celery_tasks__a_failure_is_counted(scraper, monkeypatch):
    from stocks import tasks

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(tasks, "recompute_stock_indicators", broken)
    with pytest.raises(RuntimeError):
        tasks.recompute_indicators.apply()
    samples = scrape(scraper)
    assert (
        value(
            samples,
            "stockscanner_celery_tasks_total",
            task="recompute-indicators",
            outcome="failed",
        )
        == 1
    )


@pytest.mark.services
def test_shared_counters__in_redis_every_process_adds_to_one_total(redis_url, settings, scraper):
    """With Redis, a count made in another process (a Celery worker on another box) shows."""
    settings.CACHES = redis_cache_settings(redis_url)
    from django.core.cache import cache
    from django_redis import get_redis_connection

    try:
        metrics.TASKS.inc(task="refresh-quotes", outcome="succeeded")
        # Another worker, on its own connection, counts the same series twice more.
        other = get_redis_connection("default")
        other.hincrby(cache.make_key(cache_key("metrics", metrics.TASKS.name)),
                      '["refresh-quotes", "succeeded"]', 2)  # fmt: skip
        samples = scrape(scraper)
        name = "stockscanner_celery_tasks_total"
        assert value(samples, name, task="refresh-quotes", outcome="succeeded") == 3
        assert not next(iter(metrics.TASKS.local.collect())).samples  # nothing kept in-process
    finally:
        cache.delete_pattern("*")


@pytest.mark.services
def test_shared_counters__clear_cache_resets_them(redis_url, settings, scraper):
    from django.core.cache import cache
    from django.core.management import call_command

    settings.CACHES = redis_cache_settings(redis_url)
    try:
        metrics.TASKS.inc(task="refresh-quotes", outcome="succeeded")
        call_command("clear_cache", "--namespace", "metrics", stdout=io.StringIO())
        samples = scrape(scraper)
        assert value(samples, "stockscanner_celery_tasks_total", task="refresh-quotes",
                     outcome="succeeded") == 0  # fmt: skip
    finally:
        cache.delete_pattern("*")


@pytest.mark.services
def test_circuit_state__absent_not_closed_while_redis_is_down(settings, scraper, caplog):
    """The cache ignores Redis errors, so every breaker would read closed: none is shown."""
    from .support.redis import CLOSED_PORT_REDIS_URL

    settings.CACHES = redis_cache_settings(CLOSED_PORT_REDIS_URL)
    samples = scrape(scraper)
    assert not [key for key in samples if key[0] == "stockscanner_provider_circuit_state"]
    assert "provider circuit states unreadable" in caplog.text


def test_static_files__counted_as_static_not_unmatched(api, scraper):
    from django.conf import settings

    response = api.get(
        f"{settings.STATIC_URL}drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
    )
    assert response.status_code == 200
    response.close()
    samples = scrape(scraper)
    total = "stockscanner_http_requests_total"
    assert value(samples, total, route="(static)", method="GET", status="200") == 1


@pytest.mark.services
def test_shared_counters__redis_down_loses_the_count_not_the_task(settings, scraper, caplog):
    from .support.redis import CLOSED_PORT_REDIS_URL

    settings.CACHES = redis_cache_settings(CLOSED_PORT_REDIS_URL)
    metrics.TASKS.inc(task="refresh-quotes", outcome="succeeded")  # no exception
    response = scraper.get("/metrics")
    assert response.status_code == 200  # the scrape still answers, without those series
    assert "not counted" in caplog.text


# --- the quantiles /health/metrics/ estimates ------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.5, 0.0075),  # 50 of 100 at rank 50: halfway through the (0.005, 0.01] bucket
        (0.25, 0.005),
        (0.95, 0.1),  # in the +Inf bucket: the highest finite bound
        (0.1, 0.002),  # linear within the first bucket, from 0: 10 of its 25
    ],
)
def test_bucket_quantile__as_histogram_quantile(q, expected):
    buckets = [(0.005, 25.0), (0.01, 75.0), (0.1, 90.0), (float("inf"), 100.0)]
    assert metrics.bucket_quantile(q, buckets) == pytest.approx(expected)


def test_bucket_quantile__no_observations():
    assert metrics.bucket_quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None
    assert metrics.bucket_quantile(0.5, []) is None


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ("health/", "/health/"),
        ("api/stocks/?$", "/api/stocks/"),
        (
            r"api/stocks/(?P<ticker>[A-Za-z0-9][A-Za-z0-9.\-]{0,15})/history/?$",
            "/api/stocks/<ticker>/history/",
        ),
        (r"api/x/(?P<a>(b|c)+)/(?P<d>\))/?$", "/api/x/<a>/<d>/"),
        ("^api/", "/api/*"),
    ],
)
def test_route_template(route, expected):
    assert metrics.template(route) == expected


# --- the operator views read the same figures ----------------------------------------------


def test_health_metrics__percentiles_per_route(api, operator):
    StockFactory(ticker="AAPL")
    for _ in range(5):
        assert api.get("/api/stocks/").status_code == 200
    for _ in range(3):
        assert api.get("/api/stocks/AAPL/").status_code == 200
    body = operator.get("/health/metrics/").json()
    assert body["scope"].startswith("process")
    rows = {row["endpoint"]: row for row in body["endpoints"]}
    assert rows["/api/stocks/"]["requests"] == 5
    assert rows["/api/stocks/<ticker>/"]["requests"] == 3
    for name in ("/api/stocks/", "/api/stocks/<ticker>/"):
        row = rows[name]
        assert row["errors_5xx"] == 0
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    assert body["in_flight"] == 1  # this request


def test_health_metrics__the_figures_of_metrics(api, operator, scraper):
    """/health/metrics/ counts what /metrics counts (both read stocks.metrics.collect())."""
    for _ in range(4):
        api.get("/health/live/")
    samples = scrape(scraper)
    rows = {row["endpoint"]: row for row in operator.get("/health/metrics/").json()["endpoints"]}
    assert (
        rows["/health/live/"]["requests"]
        == value(
            samples,
            "stockscanner_http_requests_total",
            route="/health/live/",
            method="GET",
            status="200",
        )
        == 4
    )


def test_health_metrics__snapshot_age(api, operator, settings):
    settings.SCREEN_ENGINE = "numpy"
    StockFactory()
    assert api.get("/api/stocks/").status_code == 200
    snapshot = operator.get("/health/metrics/").json()["screen_snapshot"]
    assert snapshot["workers_holding_one"] == 1
    assert snapshot["oldest_version"] == snapshot["newest_version"] == snapshots.held().version
    assert 0 <= snapshot["oldest_age_seconds"] < 60


def test_health_metrics__no_snapshot(operator, settings):
    settings.SCREEN_ENGINE = "sql"
    assert operator.get("/health/metrics/").json()["screen_snapshot"] == {
        "workers_holding_one": 0, "oldest_version": None, "newest_version": None,
        "oldest_age_seconds": None,
    }  # fmt: skip


def test_performance__lists_slow_queries(api, operator, settings):
    """With SLOW_QUERY_MS=0 every query of a request is listed, with its route."""
    settings.SLOW_QUERY_MS = 0
    StockFactory()
    assert api.get("/api/stocks/").status_code == 200
    body = operator.get("/health/performance/").json()
    assert body["slow_query_ms"] == 0
    assert "/api/stocks/" in [e["endpoint"] for e in body["slowest_endpoints"]]
    ours = [q for q in body["slow_queries"] if q["route"] == "/api/stocks/"]
    assert any("stocks_stock" in q["sql"] for q in ours)
    durations = [q["duration_ms"] for q in body["slow_queries"]]
    assert durations == sorted(durations, reverse=True)


def test_performance__no_slow_queries_under_the_threshold(api, operator, settings):
    """Queries faster than SLOW_QUERY_MS are not listed."""
    settings.SLOW_QUERY_MS = 60_000
    assert api.get("/api/stocks/").status_code == 200
    assert operator.get("/health/performance/").json()["slow_queries"] == []


@pytest.mark.services
def test_slow_queries__in_redis_every_worker_shows(redis_url, settings):
    settings.CACHES = redis_cache_settings(redis_url)
    from django.core.cache import cache

    try:
        for n in range(slow_queries.KEPT + 5):
            slow_queries.record(f"SELECT {n}", float(n), "/api/stocks/")
        kept = slow_queries.recent()
        assert len(kept) == slow_queries.KEPT
        assert kept[0]["sql"] == f"SELECT {slow_queries.KEPT + 4}"  # slowest first
        assert not slow_queries._local  # all in Redis
    finally:
        cache.delete_pattern("*")


def test_shared_counters__a_count_that_fails_never_fails_the_task(scraper, monkeypatch, caplog):
    """(Under gunicorn without Redis, a removed metrics directory makes the count raise.)"""
    from stocks import tasks

    def broken(*args, **kwargs):
        raise FileNotFoundError("metrics directory gone")

    monkeypatch.setattr(metrics.TASKS.local, "labels", broken)
    StockFactory()
    assert tasks.recompute_indicators.apply().successful()
    assert "metric stockscanner_celery_tasks not counted" in caplog.text


def test_in_flight__back_down_when_an_exception_escapes(rf):
    """An exception through the middleware still counts the request (as a 500) and leaves
    nothing in flight."""
    from stocks.middleware import RequestMetricsMiddleware

    def explode(request):
        raise RuntimeError("escaped")

    request = rf.get("/anything")
    with pytest.raises(RuntimeError):
        RequestMetricsMiddleware(explode)(request)
    assert metrics.IN_FLIGHT._value.get() == 0
    assert metrics.REQUESTS.labels("(unmatched)", "GET", "500")._value.get() == 1
