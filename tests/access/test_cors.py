"""CORS follows the keys' origins as well as CORS_ALLOWED_ORIGINS."""

from __future__ import annotations

import pytest

from stocks.services.api_keys import revoke_key

from ..factories import StockFactory, make_key

pytestmark = pytest.mark.django_db

SITE = "https://members.example.com"


def preflight(api, origin):
    return api.options(
        "/api/stocks/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key",
    )


def test_publishable_key_origin__preflight_and_request_allowed(api, settings):
    settings.CORS_ALLOWED_ORIGINS = []
    StockFactory(ticker="AAPL")
    _, secret = make_key(plan="free", publishable=True, allowed_origins=SITE)
    answer = preflight(api, SITE)
    assert answer.status_code == 200
    assert answer["Access-Control-Allow-Origin"] == SITE
    assert "x-api-key" in answer["Access-Control-Allow-Headers"].lower()
    response = api.get("/api/stocks/", HTTP_ORIGIN=SITE, HTTP_X_API_KEY=secret)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SITE


def test_origin_of_no_key__no_cors_headers(api, settings):
    settings.CORS_ALLOWED_ORIGINS = []
    make_key(plan="free", publishable=True, allowed_origins=SITE)
    assert "Access-Control-Allow-Origin" not in preflight(api, "https://other.example")


def test_revoked_key__its_origin_no_longer_allowed(api, settings):
    settings.CORS_ALLOWED_ORIGINS = []
    key, _ = make_key(plan="free", publishable=True, allowed_origins=SITE)
    assert preflight(api, SITE)["Access-Control-Allow-Origin"] == SITE
    revoke_key(prefix=key.prefix)
    assert "Access-Control-Allow-Origin" not in preflight(api, SITE)


def test_publishable_key__a_browser_may_post_a_screen(api, settings):
    """The preflight of a JSON POST to /api/stocks/screen/ allows it; the POST answers."""
    settings.CORS_ALLOWED_ORIGINS = []
    StockFactory(ticker="AAPL")
    _, secret = make_key(plan="free", publishable=True, allowed_origins=SITE)
    answer = api.options(
        "/api/stocks/screen/",
        HTTP_ORIGIN=SITE,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-api-key",
    )
    assert answer["Access-Control-Allow-Origin"] == SITE
    assert "POST" in answer["Access-Control-Allow-Methods"]
    response = api.post(
        "/api/stocks/screen/", {"tickers": ["AAPL"]}, format="json",
        HTTP_ORIGIN=SITE, HTTP_X_API_KEY=secret,
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["count"] == 1
