"""Limits by plan: windows, subnets, bursts, search cost, overload, headers, 429."""

from __future__ import annotations

import re
import time

import pytest

from stocks.access import counters, throttles
from stocks.access.models import Plan
from stocks.access.throttles import search_units

from ..factories import StockFactory, make_key

pytestmark = pytest.mark.django_db

URL = "/api/stocks/"


@pytest.fixture
def stock():
    return StockFactory(ticker="AAPL")


def plan(slug: str, **limits) -> Plan:
    found = Plan.objects.get(slug=slug)
    for name, value in limits.items():
        setattr(found, name, value)
    found.save()
    return found


def statuses(api, n, url=URL, **extra) -> list[int]:
    return [api.get(url, **extra).status_code for _ in range(n)]


def test_key__minute_window_of_its_plan(api, stock, limits):
    plan("basic", requests_per_minute=3)
    _, secret = make_key(plan="basic")
    assert statuses(api, 4, HTTP_X_API_KEY=secret) == [200, 200, 200, 429]


def test_key__day_window_of_its_plan(api, stock, limits):
    plan("pro", requests_per_minute=100, requests_per_day=2)
    _, secret = make_key(plan="pro")
    assert statuses(api, 3, HTTP_X_API_KEY=secret) == [200, 200, 429]


def test_keys_are_counted_apart(api, stock, limits):
    plan("free", requests_per_minute=1)
    _, one = make_key(plan="free")
    _, two = make_key(plan="free")
    assert statuses(api, 2, HTTP_X_API_KEY=one) == [200, 429]
    assert statuses(api, 1, HTTP_X_API_KEY=two) == [200]


def test_429__json_body_names_scope_and_window_with_retry_after(api, stock, limits):
    plan("basic", requests_per_minute=1)
    key, secret = make_key(plan="basic")
    api.get(URL, HTTP_X_API_KEY=secret)
    response = api.get(URL, HTTP_X_API_KEY=secret)
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["details"]["scope"] == f"key {key.prefix}"
    assert error["details"]["window"] == "minute"
    assert error["details"]["limit"] == 1
    retry = int(response["Retry-After"])
    assert 1 <= retry <= 60 and error["details"]["retry_after"] == retry
    assert "per minute" in error["message"]


def test_headers__on_every_limited_answer(api, stock, limits):
    plan("basic", requests_per_minute=5, requests_per_day=1000)
    _, secret = make_key(plan="basic")
    before = int(time.time())
    first = api.get(URL, HTTP_X_API_KEY=secret)
    second = api.get(URL, HTTP_X_API_KEY=secret)  # a cache hit: headers are still its own
    for response, remaining in ((first, 4), (second, 3)):
        assert response["X-RateLimit-Limit"] == "5"
        assert response["X-RateLimit-Remaining"] == str(remaining)
        reset = int(response["X-RateLimit-Reset"])
        assert before < reset <= before + 61 and reset % 60 == 0
        assert response["RateLimit-Policy"] == '"minute";q=5;w=60, "day";q=1000;w=86400'
        match = re.fullmatch(r'"minute";r=(\d+);t=(\d+)', response["RateLimit"])
        assert match and int(match[1]) == remaining and 0 <= int(match[2]) <= 60


def test_headers__the_tightest_window(api, stock, limits):
    plan("basic", requests_per_minute=50, requests_per_day=3)
    _, secret = make_key(plan="basic")
    response = api.get(URL, HTTP_X_API_KEY=secret)
    assert response["X-RateLimit-Limit"] == "3"
    assert response["RateLimit"].startswith('"day";r=2;')
    assert int(response["X-RateLimit-Reset"]) % 86_400 == 0  # 00:00 UTC


def test_headers__on_a_429_too(api, stock, limits):
    plan("basic", requests_per_minute=1)
    _, secret = make_key(plan="basic")
    api.get(URL, HTTP_X_API_KEY=secret)
    refused = api.get(URL, HTTP_X_API_KEY=secret)
    assert refused.status_code == 429
    assert (refused["X-RateLimit-Limit"], refused["X-RateLimit-Remaining"]) == ("1", "0")
    assert refused["RateLimit"].startswith('"minute";r=0;')


def test_anonymous_plan_deleted__not_limited_and_logged(api, stock, limits, caplog):
    Plan.objects.filter(slug="anonymous").delete()
    assert statuses(api, 3) == [200, 200, 200]
    assert "no 'anonymous' plan" in caplog.text
    assert api.get("/api/account/usage/").json()["plan"] is None


def test_headers__none_without_limits(api, stock):
    assert "X-RateLimit-Limit" not in api.get(URL)


def test_anonymous__per_subnet(api, stock, limits):
    plan("anonymous", requests_per_minute=2)
    same = [{"REMOTE_ADDR": f"203.0.113.{n}"} for n in (1, 2, 3)]
    assert [api.get(URL, **extra).status_code for extra in same] == [200, 200, 429]
    assert api.get(URL, REMOTE_ADDR="203.0.114.1").status_code == 200  # another /24
    v6 = [{"REMOTE_ADDR": f"2001:db8:0:1::{n}"} for n in (1, 2, 3)]
    assert [api.get(URL, **extra).status_code for extra in v6] == [200, 200, 429]
    assert api.get(URL, REMOTE_ADDR="2001:db8:0:2::1").status_code == 200  # another /64


def test_anonymous__forwarded_for_only_through_trusted_proxies(api, stock, limits, settings):
    plan("anonymous", requests_per_minute=1)
    settings.TRUSTED_PROXY_COUNT = 0
    # Untrusted: a client writing its own X-Forwarded-For is still its socket's address.
    assert api.get(URL, HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 200
    assert api.get(URL, HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 429
    settings.TRUSTED_PROXY_COUNT = 1
    assert api.get(URL, HTTP_X_FORWARDED_FOR="9.9.9.9, 1.1.1.1").status_code == 200
    assert api.get(URL, HTTP_X_FORWARDED_FOR="8.8.8.8, 1.1.1.2").status_code == 429
    assert api.get(URL, HTTP_X_FORWARDED_FOR="1.1.2.1").status_code == 200


def test_realtime__burst_window_per_second(api, stock, limits, monkeypatch):
    plan("basic", realtime_per_second=2, requests_per_minute=100)
    _, secret = make_key(plan="basic")
    monkeypatch.setattr(throttles.time, "time", lambda: 1_999_958_400.25)
    assert statuses(api, 3, "/api/realtime/AAPL/", HTTP_X_API_KEY=secret) == [200, 200, 429]
    assert api.get(URL, HTTP_X_API_KEY=secret).status_code == 200  # other endpoints go on
    response = api.get("/api/realtime/AAPL/", HTTP_X_API_KEY=secret)
    assert response.json()["error"]["details"]["window"] == "second"
    monkeypatch.setattr(throttles.time, "time", lambda: 1_999_958_401.25)  # the next second
    assert api.get("/api/realtime/AAPL/", HTTP_X_API_KEY=secret).status_code == 200


@pytest.mark.parametrize(
    ("query", "units"),
    [
        ("AAPL", 1),
        ("ibm", 1),
        ("apple", 2),  # 5+ letters: the fuzzy tier may run
        ("bank of america", 1 + 2 + 1),
        ("international business machines", 1 + 2 + 1 + 1),
    ],
)
def test_search_units(query, units):
    assert search_units(query) == units


def test_search__costs_its_units_times_the_plans_weight(api, stock, limits):
    plan("basic", requests_per_minute=10, search_cost=2)
    _, secret = make_key(plan="basic")
    response = api.get("/api/stocks/search/", {"q": "apple"}, HTTP_X_API_KEY=secret)
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "6"  # 10 - 2 x 2
    assert api.get(URL, HTTP_X_API_KEY=secret)["X-RateLimit-Remaining"] == "5"
    statuses_now = [
        api.get("/api/stocks/search/", {"q": "apple"}, HTTP_X_API_KEY=secret).status_code
        for _ in range(2)
    ]
    assert statuses_now == [200, 429]  # 4 of the 5 left, then 4 of 1: refused
    assert api.get(URL, HTTP_X_API_KEY=secret)["X-RateLimit-Remaining"] == "0"  # 1 unit fits


def test_overload__anonymous_limits_shrink_keys_do_not(api, stock, limits, settings, monkeypatch):
    plan("anonymous", requests_per_minute=4)
    plan("basic", requests_per_minute=4)
    _, secret = make_key(plan="basic")
    settings.ANON_OVERLOAD_LOAD_PER_CORE = 1.5
    settings.ANON_OVERLOAD_FACTOR = 0.5
    monkeypatch.setattr(throttles, "load_per_core", lambda: 3.0)
    assert statuses(api, 3) == [200, 200, 429]
    assert api.get(URL)["X-RateLimit-Limit"] == "2"
    assert statuses(api, 4, HTTP_X_API_KEY=secret) == [200, 200, 200, 200]
    monkeypatch.setattr(throttles, "load_per_core", lambda: 1.0)  # load gone: the full 4
    assert api.get(URL, REMOTE_ADDR="192.0.2.1")["X-RateLimit-Limit"] == "4"


def test_load_per_core__from_the_load_average(monkeypatch):
    monkeypatch.setattr(throttles.os, "getloadavg", lambda: (6.0, 1.0, 1.0))
    monkeypatch.setattr(throttles.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(throttles, "_load", (0.0, -1e9))
    assert throttles.load_per_core() == 3.0


def test_counters_down__request_served_and_one_warning(api, stock, limits, monkeypatch, caplog):
    """Fail open: the API answers when the counters cannot be reached, and says so once."""
    monkeypatch.setattr(counters.shared_redis, "available", lambda: True)

    def broken():
        raise ConnectionError("redis is gone")

    monkeypatch.setattr(counters, "_redis_script", broken)
    monkeypatch.setattr(counters, "_warned_at", -1e9)
    assert statuses(api, 5) == [200] * 5
    warnings = [r for r in caplog.records if "rate-limit counters unavailable" in r.message]
    assert len(warnings) == 1


def test_limits_off__nobody_limited(api, stock, settings):
    settings.RATE_LIMITS_ENABLED = False
    plan("anonymous", requests_per_minute=1)
    assert statuses(api, 3) == [200, 200, 200]
