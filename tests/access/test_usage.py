"""GET /api/account/usage/: the caller's plan and windows; it costs no quota."""

from __future__ import annotations

from datetime import datetime

import pytest

from stocks.access.models import Plan

from ..factories import StockFactory, make_key

pytestmark = pytest.mark.django_db

USAGE = "/api/account/usage/"


def test_usage__key_windows_used_and_remaining(api, limits):
    StockFactory(ticker="AAPL")
    Plan.objects.filter(slug="basic").update(requests_per_minute=10, search_cost=2)
    key, secret = make_key(plan="basic")
    api.get("/api/stocks/", HTTP_X_API_KEY=secret)
    api.get("/api/stocks/search/", {"q": "apple"}, HTTP_X_API_KEY=secret)  # 2 x 2 units
    body = api.get(USAGE, HTTP_X_API_KEY=secret).json()
    assert body["plan"] == {"slug": "basic", "name": "Basic", "search_cost": 2}
    assert body["caller"] == {"type": "key", "key": key.prefix}
    windows = {w["name"]: w for w in body["windows"]}
    assert set(windows) == {"minute", "day", "second"}
    assert windows["minute"]["limit"] == 10
    assert (windows["minute"]["used"], windows["minute"]["remaining"]) == (5, 5)
    assert windows["day"]["used"] == 5 and windows["day"]["limit"] == 50_000
    assert windows["second"]["scope"] == "realtime" and windows["second"]["used"] == 0
    reset = datetime.fromisoformat(windows["minute"]["resets_at"].replace("Z", "+00:00"))
    assert reset.second == 0 and reset.microsecond == 0


def test_usage__costs_no_quota_but_has_a_window_of_its_own(api, limits):
    Plan.objects.filter(slug="free").update(requests_per_minute=3)
    _, secret = make_key(plan="free")
    for _ in range(3):
        response = api.get(USAGE, HTTP_X_API_KEY=secret)
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
    minute = next(w for w in response.json()["windows"] if w["name"] == "minute")
    assert minute["used"] == 0
    assert api.get(USAGE, HTTP_X_API_KEY=secret).status_code == 429  # its own minute is spent
    assert api.get("/api/market/sectors/", HTTP_X_API_KEY=secret).status_code == 200


def test_usage__anonymous_sees_its_subnet(api, limits):
    api.get("/api/market/sectors/", REMOTE_ADDR="203.0.113.7")
    body = api.get(USAGE, REMOTE_ADDR="203.0.113.200").json()
    assert body["caller"] == {"type": "anonymous", "subnet": "203.0.113.0/24"}
    assert body["plan"]["slug"] == "anonymous"
    minute = next(w for w in body["windows"] if w["name"] == "minute")
    assert (minute["limit"], minute["used"]) == (20, 1)


def test_usage__bad_key_401(api, limits):
    assert api.get(USAGE, HTTP_X_API_KEY="nope").status_code == 401


def test_usage__not_cached(api, limits):
    _, secret = make_key(plan="pro")
    first = api.get(USAGE, HTTP_X_API_KEY=secret).json()
    api.get("/api/market/sectors/", HTTP_X_API_KEY=secret)
    second = api.get(USAGE, HTTP_X_API_KEY=secret).json()
    used = [next(w["used"] for w in b["windows"] if w["name"] == "day") for b in (first, second)]
    assert used == [0, 1]
