"""Edges of keys and limits: refused keys cost units, 304s, shared answers, failures."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache

from stocks.access import counters, keys
from stocks.access.models import APIKey, Plan
from stocks.services.api_keys import revoke_key

from ..factories import StockFactory, make_key
from ..support.commands import run_json

pytestmark = pytest.mark.django_db

URL = "/api/stocks/"


@pytest.fixture
def stock():
    return StockFactory(ticker="AAPL")


def test_refused_keys_cost_the_subnet_units_then_429(api, stock, limits):
    """Guessing keys is limited like any anonymous use."""
    Plan.objects.filter(slug="anonymous").update(requests_per_minute=3)
    guesses = [api.get(URL, HTTP_X_API_KEY=f"abcdefg{n}." + "x" * 32) for n in range(5)]
    assert [r.status_code for r in guesses] == [401, 401, 401, 429, 429]
    assert guesses[0]["X-RateLimit-Remaining"] == "2"
    assert guesses[3].json()["error"]["details"]["scope"].startswith("anonymous 127.0.0.0/24")


def test_304__keeps_the_callers_limit_headers(api, stock, limits):
    _, secret = make_key(plan="basic")
    first = api.get(URL, HTTP_X_API_KEY=secret)
    again = api.get(URL, HTTP_X_API_KEY=secret, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["X-RateLimit-Remaining"] == str(int(first["X-RateLimit-Remaining"]) - 1)
    assert again["RateLimit"].startswith('"minute";r=')


def test_one_cached_answer_each_callers_own_headers(api, stock, limits):
    Plan.objects.filter(slug="basic").update(requests_per_minute=100)
    Plan.objects.filter(slug="pro").update(requests_per_minute=1000)
    _, basic = make_key(plan="basic")
    _, pro = make_key(plan="pro")
    one = api.get(URL, HTTP_X_API_KEY=basic)
    two = api.get(URL, HTTP_X_API_KEY=pro)  # the same cached body
    assert one.content == two.content
    assert (one["X-RateLimit-Limit"], two["X-RateLimit-Limit"]) == ("100", "1000")


def test_429_message_as_documented(api, stock, limits):
    Plan.objects.filter(slug="basic").update(requests_per_minute=1)
    key, secret = make_key(plan="basic")
    api.get(URL, HTTP_X_API_KEY=secret)
    message = api.get(URL, HTTP_X_API_KEY=secret).json()["error"]["message"]
    assert message.startswith(
        f"Rate limit exceeded: 1 units per minute (key {key.prefix}). Retry in "
    )
    assert message.endswith(" s.")


def test_counters_down__no_headers_claiming_a_quota(api, stock, limits, monkeypatch):
    monkeypatch.setattr(counters.shared_redis, "available", lambda: True)
    calls = []

    def broken():
        calls.append(1)
        raise ConnectionError("redis is gone")

    monkeypatch.setattr(counters, "_redis_script", broken)
    responses = [api.get(URL) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all("X-RateLimit-Limit" not in r for r in responses)
    assert calls == [1]  # then REDIS_RETRY_SECONDS without asking


def test_search_costing_more_than_a_window_is_charged_at_most_the_window(api, stock, limits):
    Plan.objects.filter(slug="anonymous").update(requests_per_minute=20, search_cost=2)
    long_query = " ".join("ab" for _ in range(30))  # 35 units x 2: more than the window
    response = api.get("/api/stocks/search/", {"q": long_query})
    assert response.status_code == 200  # charged the whole window once, not refused forever
    assert response["X-RateLimit-Remaining"] == "0"
    assert api.get(URL).status_code == 429


def test_null_origin__refused_by_a_bound_key(api, stock):
    _, secret = make_key(allowed_origins="https://members.example.com")
    response = api.get(URL, HTTP_X_API_KEY=secret, HTTP_ORIGIN="null")
    assert response.status_code == 403


def test_cors_from_keys__only_on_the_api_and_not_for_expired_keys(api, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.CORS_ALLOWED_ORIGINS = []
    keys.forget()
    make_key(plan="free", publishable=True, allowed_origins="https://live.example")
    make_key(
        plan="free", publishable=True, allowed_origins="https://old.example",
        expiry_date=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    admin = api.get("/admin/login/", HTTP_ORIGIN="https://live.example")
    assert "Access-Control-Allow-Origin" not in admin
    assert api.get(URL, HTTP_ORIGIN="https://live.example")["Access-Control-Allow-Origin"]
    assert "Access-Control-Allow-Origin" not in api.get(URL, HTTP_ORIGIN="https://old.example")


def test_a_stored_origin_that_is_not_one_breaks_nothing(api, stock, caplog):
    key, secret = make_key(allowed_origins="https://ok.example")
    APIKey.objects.filter(pk=key.pk).update(allowed_origins="not an origin\nhttps://ok.example")
    keys.forget()
    assert api.get(URL, HTTP_ORIGIN="https://ok.example").status_code == 200
    assert "not an origin" in caplog.text
    assert api.get(URL, HTTP_X_API_KEY=secret, HTTP_ORIGIN="https://ok.example").status_code == 200


def test_memo__a_read_racing_a_revocation_does_not_undo_it(api, stock, settings, monkeypatch):
    """A record read before forget() and stored after it is dropped: revocation holds."""
    settings.API_KEY_CACHE_SECONDS = 60
    key, secret = make_key()
    keys.forget()
    real_of = keys.KeyRecord.of
    revoked = threading.Event()

    def slow_read(row):
        record = real_of(row)  # read while the key was usable
        if not revoked.is_set():
            revoked.set()
            revoke_key(prefix=key.prefix)  # a revocation lands meanwhile
        return record

    monkeypatch.setattr(keys.KeyRecord, "of", slow_read)
    api.get(URL, HTTP_X_API_KEY=secret)  # answered from the read that began before
    monkeypatch.setattr(keys.KeyRecord, "of", real_of)
    assert api.get(URL, HTTP_X_API_KEY=secret).status_code == 401


def test_clear_cache_access_namespace_resets_last_used_claims(api, stock):
    key, secret = make_key()
    api.get(URL, HTTP_X_API_KEY=secret)
    assert cache.get(f"access:last-used:{key.prefix}") == 1
    report, code = run_json("clear_cache", "--namespace", "access")
    assert code in (0, 1) and report["removed"]["access"] == 1
    assert cache.get(f"access:last-used:{key.prefix}") is None
