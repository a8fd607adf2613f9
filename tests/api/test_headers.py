"""Response headers: CORS for the WordPress origin, ETag/304, gzip, request id."""

import logging

import pytest

from stocks.logging import RequestIdFilter

pytestmark = pytest.mark.django_db

ORIGIN = "https://www.example.com"


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]


def test_cors__allowed_origin_gets_headers(api, stock_factory, cors):
    """A browser call from the configured origin is allowed and sees our headers."""
    stock_factory(ticker="AAA")
    response = api.get("/api/stocks/", HTTP_ORIGIN=ORIGIN)
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    exposed = response["Access-Control-Expose-Headers"]
    assert "X-Request-ID" in exposed and "ETag" in exposed


def test_cors__other_origin_gets_no_headers(api, stock_factory, cors):
    """Origins not configured are not granted access."""
    response = api.get("/api/stocks/", HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in response


def test_cors__preflight_allows_api_key_header(api, cors):
    """The preflight for a GET with X-API-Key succeeds."""
    response = api.options(
        "/api/stocks/",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key",
    )
    assert response.status_code == 200
    assert "x-api-key" in response["Access-Control-Allow-Headers"].lower()


def test_etag__if_none_match_answers_304(api, stock_factory):
    """Repeating a GET with the ETag it returned gives 304 and no body."""
    stock_factory(ticker="AAA")
    first = api.get("/api/stocks/AAA/")
    etag = first["ETag"]
    second = api.get("/api/stocks/AAA/", HTTP_IF_NONE_MATCH=etag)
    assert second.status_code == 304
    assert second.content == b""


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/stocks/?price_min=abc", {}, 400),
        ("/api/stocks/NOPE/", {}, 404),
        ("/api/stocks/", {"HTTP_ACCEPT": "text/csv"}, 406),
    ],
)
def test_etag__never_on_an_error(api, path, headers, status):
    """README: ETag on successful GETs only; an error is not a representation to revalidate."""
    response = api.get(path, **headers)
    assert response.status_code == status
    assert "ETag" not in response


def test_gzip__large_bodies_compressed_when_accepted(api, stock_factory):
    """A list over 1 KB is gzip-encoded for clients that accept gzip."""
    for n in range(5):
        stock_factory(ticker=f"GZ{n}")
    response = api.get("/api/stocks/", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert response.content[:2] == b"\x1f\x8b"


def test_slow_request__logged_with_its_request_id(api, settings):
    """The slow-request warning carries the id of the request it is about."""
    settings.SLOW_REQUEST_MS = 0
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.addFilter(RequestIdFilter())  # as the console and file handlers have
    handler.emit = records.append
    logger = logging.getLogger("stocks.requests")
    logger.addHandler(handler)
    try:
        response = api.get("/health/live/", HTTP_X_REQUEST_ID="slow-1")
    finally:
        logger.removeHandler(handler)
    assert response["X-Request-ID"] == "slow-1"
    slow = [r for r in records if r.getMessage().startswith("slow request")]
    assert [r.request_id for r in slow] == ["slow-1"]
