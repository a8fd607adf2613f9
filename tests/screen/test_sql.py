"""The SQL screen's planner hint: SQLite is told when most rows match (stocks.screen.sql)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stocks.models import Stock
from stocks.screen import sql

from ..factories import StockFactory


@pytest.mark.parametrize(
    ("matching", "rows", "wanted", "walk"),
    [
        (62_000, 100_000, 50, True),  # price >= 10: most rows match, walk the ordering
        (50_025, 100_000, 50, True),  # the least that still bounds the walk by the sort
        (50_024, 100_000, 50, False),
        (3_000, 100_000, 50, False),  # 3 %: a correlated filter could make the walk long
        (100, 100_000, 50, False),  # a narrow range: read the 100 matches and sort them
        (40, 40, 50, False),  # fewer matches than wanted: the whole set is read anyway
        (62_000, 100_000, 40_000, False),  # a page deep in the results: sorting wins
    ],
)
def test_walk_the_ordering__only_when_the_walk_cannot_cost_more_than_the_sort(
    matching, rows, wanted, walk
):
    assert sql.walk_the_ordering(matching, rows, wanted) is walk


@pytest.mark.django_db
def test_likely__the_same_rows_on_every_backend():
    """On SQLite it is likely(X), elsewhere X: either way the same rows."""
    for n in range(20):
        StockFactory(
            ticker=f"L{n:02d}", price=Decimal(10 + n), exchange="NYSE" if n % 2 else "NASDAQ"
        )
    criteria = (("price_min", Decimal("15")), ("price_max", Decimal("25.5")), ("exchange", "NYSE"))
    plain = set(Stock.objects.active().screen(criteria).values_list("ticker", flat=True))
    hinted = set(
        Stock.objects.active().screen(criteria, likely=True).values_list("ticker", flat=True)
    )
    assert plain == hinted == {f"L{n:02d}" for n in range(5, 16) if n % 2}


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


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plan")
@pytest.mark.parametrize(
    "criteria",
    [
        (("volume_min", 1_000_000),),
        (("pe_max", Decimal("30")),),
        (("rsi_min", Decimal("30")),),
        (("exchange", "NYSE"),),
        (("price_min", Decimal("10")), ("price_max", Decimal("200"))),
    ],
)
def test_sqlite__a_screen_count_reads_an_index_alone(criteria):
    """Every filter's index carries is_active: the COUNT never reads a table row."""
    for n in range(30):
        StockFactory(ticker=f"C{n:02d}", volume=n * 100_000, price=Decimal(5 + n * 10))
    with CaptureQueriesContext(connection) as captured:
        Stock.objects.active().screen(criteria).count()
    (count_sql,) = [query["sql"] for query in captured.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + count_sql)
        plan = " / ".join(row[-1] for row in cursor.fetchall())
    assert "COVERING INDEX" in plan, plan
