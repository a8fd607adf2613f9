"""Price history for charts: GET /api/stocks/{ticker}/history/ and stocks.history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from stocks.history import aggregate, months_before, period_start

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def url(ticker: str) -> str:
    return f"/api/stocks/{ticker}/history/"


@pytest.fixture
def freeze_now(monkeypatch):
    """Pin ``timezone.now`` (to the real now unless given), so "today" cannot roll over."""

    def freeze(instant: datetime | None = None) -> datetime:
        instant = instant or timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: instant)
        return instant

    return freeze


@pytest.fixture
def market_today(freeze_now) -> date:
    """Today in the market's time zone, with the clock pinned."""
    return freeze_now().astimezone(NEW_YORK).date()


@pytest.fixture
def acme(stock_factory):
    return stock_factory(ticker="ACME", name="Acme Corp")


def add_bars(bar_factory, stock, rows):
    """Create bars from (date, open, high, low, close, volume) rows, in the order given."""
    for day, opened, high, low, close, volume in rows:
        bar_factory(
            stock=stock,
            date=day,
            open=Decimal(opened),
            high=Decimal(high),
            low=Decimal(low),
            close=Decimal(close),
            volume=volume,
        )


def history(api, ticker="ACME", **params):
    response = api.get(url(ticker), params)
    assert response.status_code == 200, response.content
    return response.json()


def bar_dates(body) -> list[str]:
    return [bar["date"] for bar in body["bars"]]


def d(text: str) -> date:
    return date.fromisoformat(text)


# Hand-built daily bars across a year end, with holidays on Thu Jan 1 and Mon Jan 19 2026.
# (date, open, high, low, close, volume)
DAILY = [
    (d("2025-12-29"), "10.00", "10.50", "9.80", "10.20", 100),
    (d("2025-12-30"), "10.20", "11.90", "10.10", "11.50", 200),
    (d("2025-12-31"), "11.50", "11.60", "8.70", "9.00", 300),
    (d("2026-01-02"), "9.00", "9.40", "8.90", "9.30", 400),
    (d("2026-01-05"), "9.30", "9.90", "9.20", "9.80", 500),
    (d("2026-01-09"), "9.80", "12.40", "9.70", "12.00", 600),
    (d("2026-01-20"), "12.00", "12.10", "11.00", "11.20", 700),
    (d("2026-01-23"), "11.20", "13.00", "7.50", "12.80", 800),
    (d("2026-02-02"), "12.80", "13.20", "12.60", "13.10", 900),
]
DAILY_TEXT = [(day.isoformat(), *rest) for day, *rest in DAILY]


def bar(day, opened, high, low, close, volume) -> dict:
    """A bar as the API renders it."""
    return {
        "date": day,
        "open": float(opened),
        "high": float(high),
        "low": float(low),
        "close": float(close),
        "volume": volume,
    }


# --- daily --------------------------------------------------------------------------------


def test_history__daily_returns_stored_bars_in_date_order(api, acme, bar_factory, stock_factory):
    """interval=1d gives the stored bars unchanged, oldest first, of this stock only."""
    add_bars(bar_factory, acme, reversed(DAILY))
    other = stock_factory(ticker="OTHR")
    bar_factory(stock=other, date=d("2026-01-06"))

    body = history(api, start="2025-12-01", end="2026-02-28", interval="1d")

    assert body["ticker"] == "ACME"
    assert body["interval"] == "1d"
    assert body["count"] == len(DAILY)
    assert body["bars"] == [bar(day.isoformat(), *rest) for day, *rest in DAILY]


def test_history__interval_defaults_to_daily(api, acme, bar_factory):
    """Without ``interval`` the bars are daily."""
    add_bars(bar_factory, acme, DAILY)
    body = history(api, start="2025-12-01")
    assert body["interval"] == "1d"
    assert body["count"] == len(DAILY)


def test_history__no_bars_is_an_empty_list(api, acme):
    """A stock without bars answers 200 with no bars."""
    body = history(api)
    assert body["count"] == 0
    assert body["bars"] == []


# --- weekly and monthly -------------------------------------------------------------------


# DAILY by week: Mon Dec 29 .. Fri Jan 2 crosses the year end (Jan 1 closed); Monday Jan 19
# is a holiday, so that week is dated by its first trading day.
WEEKS = [
    bar("2025-12-29", "10.00", "11.90", "8.70", "9.30", 1000),
    bar("2026-01-05", "9.30", "12.40", "9.20", "12.00", 1100),
    bar("2026-01-20", "12.00", "13.00", "7.50", "12.80", 1500),
    bar("2026-02-02", "12.80", "13.20", "12.60", "13.10", 900),
]  # fmt: skip


@pytest.mark.parametrize(
    ("start", "interval", "bars"),
    [
        pytest.param("2025-12-01", "1wk", WEEKS, id="weekly"),
        pytest.param("2025-12-01", "1mo", [
            bar("2025-12-29", "10.00", "11.90", "8.70", "9.00", 600),
            # Jan 1 is a holiday: January starts on the 2nd.
            bar("2026-01-02", "9.00", "13.00", "7.50", "12.80", 3000),
            bar("2026-02-02", "12.80", "13.20", "12.60", "13.10", 900),
        ], id="monthly"),
        # Only bars inside start/end count: a week cut by ``start`` starts later.
        pytest.param("2025-12-31", "1wk", [
            bar("2025-12-31", "11.50", "11.60", "8.70", "9.30", 700), *WEEKS[1:],
        ], id="weekly, cut by start"),
    ],
)  # fmt: skip
def test_history__aggregation(api, acme, bar_factory, start, interval, bars):
    """Per week or calendar month: open of the first day, max high, min low, last close,
    summed volume, dated by its first trading day in the data."""
    add_bars(bar_factory, acme, DAILY)

    body = history(api, start=start, end="2026-02-28", interval=interval)

    assert body["interval"] == interval
    assert body["bars"] == bars
    assert body["count"] == len(bars)


# --- period and bounds --------------------------------------------------------------------

PERIODS = {"1m": 1, "3m": 3, "6m": 6, "1y": 12, "5y": 60}


@pytest.fixture
def period_bars(acme, bar_factory, market_today):
    """A bar on the first day of each period and one the day before it, plus today."""
    days = {market_today, date(1990, 1, 2)}
    for months in PERIODS.values():
        first = months_before(market_today, months)
        days |= {first, first - timedelta(days=1)}
    for day in days:
        bar_factory(stock=acme, date=day)
    return sorted(days)


@pytest.mark.parametrize("period", sorted(PERIODS))
def test_history__period_is_relative_to_today_and_inclusive(api, period_bars, market_today, period):
    """``period`` covers from the same day N months ago (included) through today."""
    first = months_before(market_today, PERIODS[period])

    body = history(api, period=period)

    assert body["period"] == period
    assert body["start"] == first.isoformat()
    assert body["end"] is None
    assert bar_dates(body) == [day.isoformat() for day in period_bars if day >= first]
    assert bar_dates(body)[0] == first.isoformat()
    assert bar_dates(body)[-1] == market_today.isoformat()


def test_history__period_max_is_everything(api, period_bars):
    """``period=max`` has no lower bound."""
    body = history(api, period="max")
    assert body["start"] is None
    assert bar_dates(body) == [day.isoformat() for day in period_bars]


def test_history__default_period_is_one_year(api, period_bars, market_today):
    """With neither period nor start/end, the last year is returned."""
    body = history(api)
    first = months_before(market_today, 12)
    assert body["period"] == "1y"
    assert bar_dates(body) == [day.isoformat() for day in period_bars if day >= first]


def test_history__period_uses_the_market_time_zone(api, acme, bar_factory, freeze_now):
    """At 02:00 UTC on Mar 1 it is still Feb 28 in New York, so 1m starts on Jan 28."""
    freeze_now(datetime(2025, 3, 1, 2, 0, tzinfo=UTC))
    for day in ("2025-01-27", "2025-01-28", "2025-02-28"):
        bar_factory(stock=acme, date=d(day))

    body = history(api, period="1m")

    assert body["start"] == "2025-01-28"
    assert bar_dates(body) == ["2025-01-28", "2025-02-28"]


def test_history__period_clamps_to_month_end(api, acme, bar_factory, freeze_now):
    """One month before Mar 31 is Feb 28 (there is no Feb 31)."""
    freeze_now(datetime(2025, 3, 31, 18, 0, tzinfo=UTC))
    for day in ("2025-02-27", "2025-02-28", "2025-03-31"):
        bar_factory(stock=acme, date=d(day))

    body = history(api, period="1m")

    assert body["start"] == "2025-02-28"
    assert bar_dates(body) == ["2025-02-28", "2025-03-31"]


@pytest.fixture
def five_days(acme, bar_factory):
    days = [d("2026-01-05") + timedelta(days=n) for n in range(5)]
    for day in days:
        bar_factory(stock=acme, date=day)
    return [day.isoformat() for day in days]


def test_history__start_and_end_are_inclusive(api, five_days):
    """Bars on ``start`` and on ``end`` are included."""
    body = history(api, start=five_days[1], end=five_days[3])
    assert bar_dates(body) == five_days[1:4]
    assert body["period"] is None
    assert (body["start"], body["end"]) == (five_days[1], five_days[3])


def test_history__start_equal_to_end_is_one_day(api, five_days):
    """start == end selects that single day."""
    assert bar_dates(history(api, start=five_days[2], end=five_days[2])) == [five_days[2]]


def test_history__only_start(api, five_days):
    """``start`` alone runs to the newest bar."""
    body = history(api, start=five_days[3])
    assert bar_dates(body) == five_days[3:]
    assert body["end"] is None


def test_history__period_counts_back_from_end(api, acme, bar_factory):
    """``period`` with ``end``: the span ending at ``end``, not today."""
    for day in ("2024-12-31", "2025-01-01", "2025-01-15", "2025-02-01", "2025-02-02"):
        bar_factory(stock=acme, date=d(day))
    body = history(api, period="1m", end="2025-02-01")
    assert (body["start"], body["end"]) == ("2025-01-01", "2025-02-01")
    assert bar_dates(body) == ["2025-01-01", "2025-01-15", "2025-02-01"]


@pytest.mark.parametrize(
    ("start", "expected"),
    [("2025-01-20", "2025-01-20"), ("2024-06-01", "2025-01-01")],  # the later start holds
)
def test_history__period_and_start_both_hold(api, acme, bar_factory, start, expected):
    for day in ("2024-12-31", "2025-01-01", "2025-01-20", "2025-02-01"):
        bar_factory(stock=acme, date=d(day))
    body = history(api, period="1m", start=start, end="2025-02-01")
    assert body["start"] == expected
    assert bar_dates(body)[0] == expected


def test_history__start_after_end_is_no_bars(api, five_days):
    """Bounds that leave no day: an empty answer, not an error."""
    body = history(api, start=five_days[3], end=five_days[1])
    assert body["count"] == 0
    assert body["bars"] == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"start": "0001-01-01", "end": "2026-01-06"}, ["2026-01-05", "2026-01-06"]),
        ({"end": "0001-01-02"}, []),
        ({"period": "5y", "end": "0002-03-01"}, []),  # counted back past the calendar's start
        ({"period": "1m", "end": "0001-01-15"}, []),
        ({"period": "6m", "end": "0001-06-30"}, []),
        ({"period": "5y", "end": "0005-12-31"}, []),
        ({"period": "1y", "end": "1000-06-01"}, []),
        (
            {"period": "max", "end": "9999-12-31"},
            ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"],
        ),
    ],
)
def test_history__ancient_dates_are_bounds_like_any_other(api, five_days, params, expected):
    assert bar_dates(history(api, **params)) == expected


def test_history__only_end(api, five_days):
    """``end`` alone runs from the oldest bar."""
    body = history(api, end=five_days[1])
    assert bar_dates(body) == five_days[:2]
    assert body["start"] is None


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval": "2d"}, "interval"),
        ({"interval": "1W"}, "interval"),
        ({"period": "2y"}, "period"),
        ({"start": "2025-13-01"}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2025-02-30"}, "end"),
        ({"start": "2025-1-31"}, "start"),  # RFC 3339 full-date only
        ({"start": " 2025-01-31"}, "start"),
    ],
)
def test_history__invalid_parameters_are_400(api, acme, params, field):
    """A bad interval, period or date is a 400."""
    response = api.get(url("ACME"), params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400
    assert error["code"] == "invalid"
    assert field in error["details"]


def test_history__unknown_ticker_is_404(api, acme):
    """A ticker nobody lists answers the JSON 404."""
    response = api.get(url("NOPE"))
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["status"] == 404
    assert error["code"] == "ticker_not_found"
    assert "NOPE" in error["message"]


def test_history__inactive_stock_is_404(api, stock_factory, bar_factory):
    """A delisted stock has no history endpoint."""
    gone = stock_factory(ticker="GONE", is_active=False)
    bar_factory(stock=gone)
    assert api.get(url("GONE")).status_code == 404


def test_history__invalid_parameters_checked_before_ticker(api):
    """Bad parameters are a 400 even for an unknown ticker (validated first)."""
    assert api.get(url("NOPE"), {"interval": "2d"}).status_code == 400


@pytest.mark.parametrize(
    ("path_ticker", "stored"),
    [
        ("acme", "ACME"),
        ("AcMe", "ACME"),
        ("BRK-B", "BRK.B"),
        ("brk.b", "BRK.B"),
        ("BRK.B", "BRK.B"),
    ],
)
def test_history__ticker_in_any_case_and_share_class_spelling(
    api, stock_factory, bar_factory, path_ticker, stored
):
    """The path ticker is normalised: case-insensitive, BRK-B is BRK.B."""
    stock = stock_factory(ticker=stored)
    bar_factory(stock=stock, date=d("2026-01-05"))

    body = history(api, path_ticker, start="2026-01-01")

    assert body["ticker"] == stored
    assert bar_dates(body) == ["2026-01-05"]


# --- cost ---------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", ["1d", "1wk", "1mo"])
def test_history__query_count_is_constant(
    api, acme, bar_factory, django_assert_num_queries, interval
):
    """Two queries (the stock, its bars) however many bars and whatever the interval."""
    start = d("2025-01-01")
    for n in range(300):
        bar_factory(stock=acme, date=start + timedelta(days=n))

    with django_assert_num_queries(2):
        response = api.get(url("ACME"), {"interval": interval, "period": "max"})

    assert response.status_code == 200
    assert response.json()["count"] > 0


# --- stocks.history -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ("2025-03-31", 1, "2025-02-28"),
        ("2024-03-31", 1, "2024-02-29"),  # leap year
        ("2025-03-30", 1, "2025-02-28"),
        ("2025-05-31", 1, "2025-04-30"),
        ("2025-03-15", 1, "2025-02-15"),
        ("2025-01-15", 1, "2024-12-15"),  # across a year
        ("2025-08-31", 6, "2025-02-28"),
        ("2024-02-29", 12, "2023-02-28"),
        ("2025-03-31", 12, "2024-03-31"),
        ("2026-01-10", 60, "2021-01-10"),
        ("2025-03-31", 0, "2025-03-31"),
    ],
)
def test_months_before__clamps_to_month_end(day, months, expected):
    """Same day of the month, N months earlier, clamped to the last day of a short month."""
    assert months_before(d(day), months) == d(expected)


def test_period_start__max_is_unbounded():
    """``max`` has no start; the others are months_before today."""
    today = d("2025-03-31")
    assert period_start("max", today) is None
    assert period_start("1m", today) == d("2025-02-28")
    assert period_start("5y", today) == d("2020-03-31")


def rows(*raw):
    return [
        (d(day), Decimal(o), Decimal(h), Decimal(low), Decimal(c), v)
        for day, o, h, low, c, v in raw
    ]


def test_aggregate__daily_passes_rows_through():
    """1d keeps every row as its own bar."""
    result = aggregate(rows(*DAILY_TEXT), "1d")
    assert [b["date"] for b in result] == [d(r[0]) for r in DAILY_TEXT]
    assert result[2] == {
        "date": d("2025-12-31"),
        "open": Decimal("11.50"),
        "high": Decimal("11.60"),
        "low": Decimal("8.70"),
        "close": Decimal("9.00"),
        "volume": 300,
    }


def test_aggregate__weekly():
    """Weeks start on Monday; a week is dated by its first row."""
    result = aggregate(rows(*DAILY_TEXT), "1wk")
    assert [tuple(b.values()) for b in result] == rows(
        ("2025-12-29", "10.00", "11.90", "8.70", "9.30", 1000),
        ("2026-01-05", "9.30", "12.40", "9.20", "12.00", 1100),
        ("2026-01-20", "12.00", "13.00", "7.50", "12.80", 1500),
        ("2026-02-02", "12.80", "13.20", "12.60", "13.10", 900),
    )


def test_aggregate__monthly():
    """Months are calendar months, dated by their first row."""
    result = aggregate(rows(*DAILY_TEXT), "1mo")
    assert [(b["date"], b["high"], b["low"], b["volume"]) for b in result] == [
        (d("2025-12-29"), Decimal("11.90"), Decimal("8.70"), 600),
        (d("2026-01-02"), Decimal("13.00"), Decimal("7.50"), 3000),
        (d("2026-02-02"), Decimal("13.20"), Decimal("12.60"), 900),
    ]


def test_aggregate__same_week_number_in_different_years_is_not_merged():
    """Bars a year apart fall in different weeks and months."""
    year_apart = rows(("2025-01-06", "1", "2", "1", "2", 1), ("2026-01-05", "1", "2", "1", "2", 1))
    assert len(aggregate(year_apart, "1wk")) == 2
    assert len(aggregate(year_apart, "1mo")) == 2


def test_aggregate__empty():
    """No rows, no bars."""
    assert aggregate([], "1wk") == []
