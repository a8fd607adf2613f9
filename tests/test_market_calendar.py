"""Market hours and quote freshness: stocks.market_calendar, and is_stale/as_of in the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from stocks.market_calendar import MarketCalendar

NEW_YORK = ZoneInfo("America/New_York")
# Refresh interval (300 s) plus grace (600 s), the defaults.
ALLOWANCE = 900

# January 2025: Fri 10, Mon 13, Wed 15, Fri 17, Mon 20 (holiday), Tue 21.
CALENDAR = MarketCalendar(
    tz=NEW_YORK,
    open_time=time(9, 30),
    close_time=time(16, 0),
    holidays=frozenset({date(2025, 1, 20), date(2025, 7, 4), date(2025, 12, 25)}),
)


def ny(day: str, clock: str = "12:00") -> datetime:
    """An instant in New York: ny("2025-01-15", "09:30:00")."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=NEW_YORK)


def is_fresh(quote_time: datetime, now: datetime) -> bool:
    return quote_time >= CALENDAR.stale_before(now, ALLOWANCE)


# --- trading days and hours ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "trading"),
    [
        ("2025-01-15", True),  # Wednesday
        ("2025-01-17", True),  # Friday
        ("2025-01-18", False),  # Saturday
        ("2025-01-19", False),  # Sunday
        ("2025-01-20", False),  # holiday Monday
        ("2025-01-21", True),  # the Tuesday after it
        ("2025-07-04", False),  # holiday Friday
    ],
)
def test_is_trading_day__weekends_and_holidays(day, trading):
    """Weekdays trade unless they are holidays; weekends never do."""
    assert CALENDAR.is_trading_day(date.fromisoformat(day)) is trading


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        (ny("2025-01-15", "09:29:59.999999"), False),
        (ny("2025-01-15", "09:30"), True),  # the open is inside the session
        (ny("2025-01-15", "12:00"), True),
        (ny("2025-01-15", "15:59:59.999999"), True),
        (ny("2025-01-15", "16:00"), False),  # the close is not
        (ny("2025-01-15", "20:00"), False),
        (ny("2025-01-18", "12:00"), False),  # Saturday
        (ny("2025-01-20", "12:00"), False),  # holiday
        (datetime(2025, 1, 15, 14, 30, tzinfo=UTC), True),  # 09:30 EST
        (datetime(2025, 1, 15, 14, 29, tzinfo=UTC), False),
        (datetime(2025, 7, 15, 13, 30, tzinfo=UTC), True),  # 09:30 EDT
        (datetime(2025, 7, 15, 20, 0, tzinfo=UTC), False),  # 16:00 EDT
        (datetime(2025, 1, 16, 2, 0, tzinfo=UTC), False),  # Wednesday evening in New York
    ],
)
def test_is_open__at_the_boundaries(at, is_open):
    """Open from the opening bell (included) to the close (excluded), any input time zone."""
    assert CALENDAR.is_open(at) is is_open


def test_session__aware_open_and_close():
    """A day's session is its open and close instants in the exchange's zone."""
    opens, closes = CALENDAR.session(date(2025, 7, 15))
    assert opens == datetime(2025, 7, 15, 13, 30, tzinfo=UTC)
    assert closes == datetime(2025, 7, 15, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (ny("2025-01-15", "15:59:59"), "2025-01-14"),  # today's session still running
        (ny("2025-01-15", "16:00"), "2025-01-15"),  # closed just now
        (ny("2025-01-15", "08:00"), "2025-01-14"),
        (ny("2025-01-13", "08:00"), "2025-01-10"),  # Monday morning: last Friday
        (ny("2025-01-18", "12:00"), "2025-01-17"),  # Saturday
        (ny("2025-01-20", "17:00"), "2025-01-17"),  # after hours on a holiday
        (ny("2025-01-21", "10:00"), "2025-01-17"),  # the day after a holiday Monday
        (datetime(2025, 1, 16, 3, 0, tzinfo=UTC), "2025-01-15"),  # 22:00 in New York
    ],
)
def test_last_completed_session__latest_closed_session(at, expected):
    """The latest trading day whose session had closed by then."""
    assert CALENDAR.last_completed_session(at) == date.fromisoformat(expected)


def test_previous_trading_day__skips_weekend_and_holiday():
    """The trading day before Tuesday Jan 21 is Friday Jan 17."""
    assert CALENDAR.previous_trading_day(date(2025, 1, 21)) == date(2025, 1, 17)
    assert CALENDAR.previous_trading_day(date(2025, 1, 16)) == date(2025, 1, 15)


def test_previous_trading_day__gives_up_after_a_month_of_closures():
    """A calendar with no session in 30 days is a configuration error, not a hang."""
    closed = MarketCalendar(
        tz=NEW_YORK,
        open_time=time(9, 30),
        close_time=time(16, 0),
        holidays=frozenset(date(2025, 1, 1) + timedelta(days=n) for n in range(40)),
    )
    with pytest.raises(ValueError, match="no trading day"):
        closed.previous_trading_day(date(2025, 2, 5))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2025-01-16", "2025-01-22", ["2025-01-16", "2025-01-17", "2025-01-21", "2025-01-22"]),
        ("2025-01-18", "2025-01-20", []),  # weekend and holiday
        ("2025-01-15", "2025-01-15", ["2025-01-15"]),  # both ends included
        ("2025-01-16", "2025-01-15", []),  # start after end
    ],
)
def test_trading_days__between_inclusive(start, end, expected):
    """Trading days from start to end, both included, skipping weekends and holidays."""
    result = CALENDAR.trading_days(date.fromisoformat(start), date.fromisoformat(end))
    assert result == [date.fromisoformat(day) for day in expected]


# --- stale_before -------------------------------------------------------------------------

FRIDAY_CLOSE = ny("2025-01-10", "16:00")


@pytest.mark.parametrize(
    "now",
    [
        ny("2025-01-10", "16:00"),
        ny("2025-01-10", "23:59"),
        ny("2025-01-11", "12:00"),  # Saturday
        ny("2025-01-12", "23:00"),  # Sunday
        ny("2025-01-13", "09:29"),  # Monday before the open
        ny("2025-01-13", "09:44:59"),  # 14:59 into Monday's session
    ],
)
def test_stale_before__friday_close_fresh_all_weekend(now):
    """Closed-market time does not count: Friday's close is fresh until Monday 09:45."""
    assert is_fresh(FRIDAY_CLOSE, now)


@pytest.mark.parametrize(
    "now", [ny("2025-01-13", "09:45"), ny("2025-01-13", "09:45:01"), ny("2025-01-13", "12:00")]
)
def test_stale_before__friday_close_stale_after_allowance_of_monday_session(now):
    """Once interval + grace of Monday's session has passed, Friday's close is stale."""
    assert not is_fresh(FRIDAY_CLOSE, now)


def test_stale_before__weekend_threshold_is_allowance_before_friday_close():
    """On Saturday the threshold is 15 minutes of open time before Friday's close."""
    assert CALENDAR.stale_before(ny("2025-01-11"), ALLOWANCE) == ny("2025-01-10", "15:45")


def test_stale_before__monday_morning_reaches_back_into_friday():
    """Ten minutes into Monday, the remaining five minutes come off Friday's close."""
    assert CALENDAR.stale_before(ny("2025-01-13", "09:40"), ALLOWANCE) == ny("2025-01-10", "15:55")


@pytest.mark.parametrize(
    ("now", "fresh"),
    [
        (ny("2025-01-18", "12:00"), True),  # Saturday
        (ny("2025-01-20", "12:00"), True),  # holiday Monday, during would-be hours
        (ny("2025-01-20", "20:00"), True),
        (ny("2025-01-21", "09:44"), True),  # Tuesday, 14 minutes in
        (ny("2025-01-21", "09:46"), False),  # Tuesday, 16 minutes in
    ],
)
def test_stale_before__quote_before_holiday_fresh_through_holiday(now, fresh):
    """Friday's close before a holiday Monday stays fresh until Tuesday's allowance is used."""
    assert is_fresh(ny("2025-01-17", "16:00"), now) is fresh


def test_stale_before__during_session_is_now_minus_allowance():
    """Mid-session the threshold is simply now minus interval + grace."""
    now = ny("2025-01-15", "12:00")
    assert CALENDAR.stale_before(now, ALLOWANCE) == now - timedelta(seconds=ALLOWANCE)
    assert is_fresh(ny("2025-01-15", "11:46"), now)
    assert not is_fresh(ny("2025-01-15", "11:44"), now)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (ny("2025-01-15", "09:35"), ny("2025-01-14", "15:50")),  # 5 min today, 10 yesterday
        (ny("2025-01-15", "09:30"), ny("2025-01-14", "15:45")),  # at the bell
        (ny("2025-01-21", "09:35"), ny("2025-01-17", "15:50")),  # over a long weekend
    ],
)
def test_stale_before__just_after_open_reaches_into_previous_session(now, expected):
    """Right after the open, the allowance not yet used today comes off the last session."""
    assert CALENDAR.stale_before(now, ALLOWANCE) == expected


def test_stale_before__allowance_longer_than_a_session():
    """An allowance of ten hours spans Wednesday morning, all Tuesday and an hour of Monday."""
    ten_hours = 10 * 3600
    assert CALENDAR.stale_before(ny("2025-01-15", "12:00"), ten_hours) == ny("2025-01-13", "15:00")


def test_stale_before__any_input_time_zone():
    """The same instant in UTC gives the same threshold."""
    in_utc = ny("2025-01-15", "12:00").astimezone(UTC)
    assert CALENDAR.stale_before(in_utc, ALLOWANCE) == ny("2025-01-15", "11:45")


# --- is_stale and as_of in the API --------------------------------------------------------


def _row_from_list(api, ticker):
    rows = api.get("/api/stocks/", {"tickers": ticker}).json()["results"]
    assert [row["ticker"] for row in rows] == [ticker]
    return rows[0]


def _row_from_detail(api, ticker):
    return api.get(f"/api/stocks/{ticker}/").json()


def _row_from_realtime(api, ticker):
    return api.get(f"/api/realtime/{ticker}/").json()


def _row_from_search(api, ticker):
    first = api.get("/api/stocks/search/", {"q": ticker}).json()["results"][0]
    assert first["ticker"] == ticker
    return first


def _row_from_movers(api, ticker):
    rows = api.get("/api/market/movers/", {"kind": "gainers", "limit": 100}).json()["results"]
    return next(row for row in rows if row["ticker"] == ticker)


ENDPOINTS = pytest.mark.parametrize(
    "row_of",
    [_row_from_list, _row_from_detail, _row_from_realtime, _row_from_search, _row_from_movers],
    ids=["list", "detail", "realtime", "search", "movers"],
)


@pytest.fixture
def default_freshness(settings):
    settings.MARKET_DATA_REFRESH_SECONDS = 300
    settings.MARKET_DATA_STALE_GRACE_SECONDS = 600
    settings.MARKET_TIMEZONE = "America/New_York"
    settings.MARKET_OPEN_TIME = "09:30"
    settings.MARKET_CLOSE_TIME = "16:00"
    settings.MARKET_HOLIDAYS = ["2025-01-20", "2025-07-04", "2025-12-25"]


@pytest.mark.django_db
@ENDPOINTS
def test_api__quote_taken_now_is_fresh(api, stock_factory, row_of):
    """A quote taken just now is not stale, and ``as_of`` is its quote time."""
    stock = stock_factory(ticker="NOWQ", name="Nowquote Inc", quote_time=timezone.now())
    row = row_of(api, "NOWQ")
    assert row["is_stale"] is False
    assert parse_datetime(row["as_of"]) == stock.quote_time


@pytest.mark.django_db
@ENDPOINTS
def test_api__month_old_quote_is_stale(api, stock_factory, row_of):
    """A quote 30 days old is stale whenever it is asked for."""
    taken = timezone.now() - timedelta(days=30)
    stock_factory(ticker="OLDQ", name="Oldquote Inc", quote_time=taken)
    row = row_of(api, "OLDQ")
    assert row["is_stale"] is True
    assert parse_datetime(row["as_of"]) == taken


@pytest.mark.django_db
@ENDPOINTS
def test_api__no_quote_is_stale(api, stock_factory, row_of):
    """A stock that has never had a quote is stale, with a null ``as_of``."""
    stock_factory(ticker="NOQ", name="Noquote Inc", quote_time=None)
    row = row_of(api, "NOQ")
    assert row["is_stale"] is True
    assert row["as_of"] is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("now", "quote_time", "stale"),
    [
        (ny("2025-01-18"), ny("2025-01-17", "16:00"), False),  # Saturday, Friday's close
        (ny("2025-01-18"), ny("2025-01-17", "15:44"), True),  # Saturday, before 15:45
        (ny("2025-01-20"), ny("2025-01-17", "16:00"), False),  # configured holiday
        (ny("2025-01-21", "09:50"), ny("2025-01-17", "16:00"), True),
        (ny("2025-01-15", "12:00"), ny("2025-01-15", "11:46"), False),
        (ny("2025-01-15", "12:00"), ny("2025-01-15", "11:44"), True),
    ],
)
def test_api__is_stale_follows_the_configured_calendar(
    api, stock_factory, default_freshness, monkeypatch, now, quote_time, stale
):
    """The API counts only open-market time, with the configured hours and holidays."""
    monkeypatch.setattr(timezone, "now", lambda: now)
    stock_factory(ticker="CALQ", name="Calendar Inc", quote_time=quote_time)

    for row_of in (_row_from_list, _row_from_detail, _row_from_realtime):
        row = row_of(api, "CALQ")
        assert row["is_stale"] is stale, row_of.__name__
        assert parse_datetime(row["as_of"]) == quote_time


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("now", "market_open"), [(ny("2025-01-15", "12:00"), True), (ny("2025-01-18"), False)]
)
def test_api__realtime_says_whether_the_market_is_open(
    api, stock_factory, default_freshness, monkeypatch, now, market_open
):
    """The realtime quote carries ``market_open`` from the calendar."""
    monkeypatch.setattr(timezone, "now", lambda: now)
    stock_factory(ticker="RTQ", quote_time=now)
    assert api.get("/api/realtime/RTQ/").json()["market_open"] is market_open
