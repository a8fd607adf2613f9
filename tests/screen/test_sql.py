"""The SQL screen's planner hint: SQLite is told when most rows match (stocks.screen.sql)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stocks.screen import sql

from ..factories import StockFactory


@pytest.mark.parametrize(
    ("matching", "rows", "wanted", "walk"),
    [
        (62_000, 100_000, 50, True),  # price >= 10: most rows match, walk the ordering
        (100, 100_000, 50, False),  # a narrow range: read the 100 matches and sort them
        (3_000, 100_000, 50, True),  # about 1,700 entries walked to skip sorting 3,000
        (1_000, 100_000, 50, False),  # 5,000 entries walked to sort 1,000: no
        (40, 40, 50, False),  # fewer matches than wanted: the whole set is read anyway
        (62_000, 100_000, 62_000, False),  # a page deep in the results: sorting wins
    ],
)
def test_walk_the_ordering__weighs_the_walk_against_the_sort(matching, rows, wanted, walk):
    assert sql.walk_the_ordering(matching, rows, wanted) is walk


def _ids_query(captured) -> str:
    return next(q["sql"] for q in captured if 'AS "pk"' in q["sql"] or "AS `pk`" in q["sql"])


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the hint is SQLite's")
def test_sqlite__wide_screen_tells_the_planner_and_answers_the_same(api, sql_screen):
    """A range most rows pass is marked likely(); the page is the one without the hint."""
    for n in range(60):
        StockFactory(ticker=f"W{n:02d}", price=Decimal(10 + n), market_cap=10**9 + n * 7919 % 61)
    url = "/api/stocks/?price_min=12&ordering=-market_cap&page_size=5"
    with CaptureQueriesContext(connection) as captured:
        hinted = api.get(url).json()
    assert "likely(" in _ids_query(captured.captured_queries)
    expected = [
        s.ticker
        for s in sorted(
            (s for s in StockFactory._meta.model.objects.filter(price__gte=12)),
            key=lambda s: (s.market_cap, s.ticker),
            reverse=True,
        )[:5]
    ]
    assert [row["ticker"] for row in hinted["results"]] == expected
    assert hinted["count"] == 58


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the hint is SQLite's")
def test_sqlite__narrow_screen_left_to_the_planner(api, sql_screen):
    for n in range(60):
        StockFactory(ticker=f"N{n:02d}", price=Decimal(10 + n))
    with CaptureQueriesContext(connection) as captured:
        body = api.get("/api/stocks/?price_min=68&ordering=-market_cap&page_size=5").json()
    assert body["count"] == 2
    assert "likely(" not in _ids_query(captured.captured_queries)
