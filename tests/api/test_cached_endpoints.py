"""Every read endpoint answers through the versioned response cache."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stocks import caching
from stocks.api import rendering

from ..factories import PriceBarFactory, StockFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/stocks/?ordering=-price&page_size=5",
    "/api/stocks/?sector=Energy&fields=ticker,price",
    "/api/stocks/?cursor=&ordering=-change_percent",
    "/api/stocks/ACME/",
    "/api/stocks/search/?q=acme",
    "/api/stocks/ACME/history/?period=1y",
    "/api/stocks/fields/",
    "/api/market/sectors/",
    "/api/market/movers/?kind=gainers",
    "/api/realtime/ACME/",
]


@pytest.fixture
def acme(db):
    stock = StockFactory(ticker="ACME", name="Acme Corp", sector="Energy", price=Decimal("12.5"))
    PriceBarFactory(stock=stock)
    StockFactory(ticker="BOLT", name="Bolt Inc", sector="Energy")
    return stock


@pytest.fixture
def nothing_renders(monkeypatch):
    """From now on, fail the test if anything serialises or compresses a body."""

    def refuse(*args, **kwargs):
        raise AssertionError("rendered or compressed on a cache hit")

    monkeypatch.setattr(rendering.orjson, "dumps", refuse)
    monkeypatch.setattr(caching, "compress_string", refuse)
    monkeypatch.setattr("django.middleware.gzip.compress_string", refuse)


@pytest.mark.parametrize("url", ENDPOINTS)
def test_endpoint__hit_costs_no_query_no_rendering(
    api, acme, url, django_assert_num_queries, request
):
    """The second identical request is served from the cache: no query, no JSON, no gzip."""
    first = api.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert first.status_code == 200, first.content
    request.getfixturevalue("nothing_renders")

    with django_assert_num_queries(0):
        second = api.get(url, HTTP_ACCEPT_ENCODING="gzip")

    assert second.status_code == 200
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert second["X-Request-ID"] != first["X-Request-ID"]


def test_endpoint__a_write_retires_the_cached_answer(api, acme):
    """After a change to the data the next request sees it: no stale answer is served."""
    before = api.get("/api/stocks/ACME/").json()

    StockFactory._meta.model.objects.filter(ticker="ACME").update(price=Decimal("13.25"))

    assert before["price"] == 12.5
    assert api.get("/api/stocks/ACME/").json()["price"] == 13.25


def test_endpoint__parameter_spelling_shares_one_entry(api, acme, django_assert_num_queries):
    """Parameters in another order, or a default written out, hit the same entry."""
    api.get("/api/stocks/?sector=Energy&ordering=-price")

    with django_assert_num_queries(0):
        response = api.get("/api/stocks/?ordering=-price&page_size=50&sector=Energy&page=1")

    assert response.status_code == 200


def test_endpoint__links_follow_the_host_asked_for(api, acme):
    """Two hosts never share a body with the other's links."""
    one = api.get("/api/stocks/?page_size=1", HTTP_HOST="localhost").json()["next"]
    two = api.get("/api/stocks/?page_size=1", HTTP_HOST="127.0.0.1").json()["next"]

    assert one.startswith("http://localhost/") and two.startswith("http://127.0.0.1/")


def test_endpoint__errors_are_not_cached(api, acme, django_assert_max_num_queries):
    """An unknown ticker is looked up each time (a 404 is never stored)."""
    assert api.get("/api/stocks/NOPE/").status_code == 404

    with django_assert_max_num_queries(1) as queries:
        assert api.get("/api/stocks/NOPE/").status_code == 404

    assert len(queries) == 1
