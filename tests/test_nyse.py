"""The NYSE's holidays and early closes by rule (stocks.nyse), and the calendar built on them."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from stocks.market_calendar import MarketCalendar, get_calendar
from stocks.nyse import easter, nyse_early_closes, nyse_holidays

NEW_YORK = ZoneInfo("America/New_York")

# The exchange's published holiday calendars (nyse.com "Holidays & Trading Hours"),
# typed in by hand, not derived from the rules under test.
PUBLISHED_HOLIDAYS = {
    2021: "01-01 01-18 02-15 04-02 05-31 07-05 09-06 11-25 12-24",
    2022: "01-17 02-21 04-15 05-30 06-20 07-04 09-05 11-24 12-26",
    2023: "01-02 01-16 02-20 04-07 05-29 06-19 07-04 09-04 11-23 12-25",
    2024: "01-01 01-15 02-19 03-29 05-27 06-19 07-04 09-02 11-28 12-25",
    2025: "01-01 01-09 01-20 02-17 04-18 05-26 06-19 07-04 09-01 11-27 12-25",
    2026: "01-01 01-19 02-16 04-03 05-25 06-19 07-03 09-07 11-26 12-25",
    2027: "01-01 01-18 02-15 03-26 05-31 06-18 07-05 09-06 11-25 12-24",
    2028: "01-17 02-21 04-14 05-29 06-19 07-04 09-04 11-23 12-25",
}
PUBLISHED_EARLY_CLOSES = {
    2023: "07-03 11-24",
    2024: "07-03 11-29 12-24",
    2025: "07-03 11-28 12-24",
    2026: "11-27 12-24",
    2027: "11-26",
    2028: "07-03 11-24",
}


def _days(year: int, text: str) -> set[date]:
    return {date.fromisoformat(f"{year}-{md}") for md in text.split()}


@pytest.mark.parametrize("year", sorted(PUBLISHED_HOLIDAYS))
def test_nyse_holidays__match_the_published_calendar(year):
    """Every full-day closure the NYSE published for the year, and no other."""
    assert nyse_holidays(year) == _days(year, PUBLISHED_HOLIDAYS[year])


@pytest.mark.parametrize("year", sorted(PUBLISHED_EARLY_CLOSES))
def test_nyse_early_closes__match_the_published_calendar(year):
    """The 13:00 closes the NYSE published for the year, and no other."""
    assert nyse_early_closes(year) == _days(year, PUBLISHED_EARLY_CLOSES[year])


def test_nyse_holidays__martin_luther_king_day_from_1998():
    """The NYSE first closed for Martin Luther King Jr. Day in 1998."""
    assert date(1997, 1, 20) not in nyse_holidays(1997)
    assert date(1998, 1, 19) in nyse_holidays(1998)


def test_nyse_holidays__new_year_on_a_saturday_is_not_observed():
    """1 January 2028 is a Saturday: Friday 31 December 2027 trades."""
    assert date(2027, 12, 31) not in nyse_holidays(2027)
    assert not any(day.month == 1 and day.day < 3 for day in nyse_holidays(2028))


@pytest.mark.parametrize(
    ("year", "sunday"),
    [(2000, "04-23"), (2019, "04-21"), (2024, "03-31"), (2038, "04-25"), (2285, "03-22")],
)
def test_easter__known_dates(year, sunday):
    """Gregorian Easter, including the earliest (22 March) and latest (25 April) dates."""
    assert easter(year) == date.fromisoformat(f"{year}-{sunday}")


def test_calendar__early_close_ends_the_session_at_one():
    """The day after Thanksgiving 2026 closes at 13:00; the session before it at 16:00."""
    calendar = get_calendar()
    opens, closes = calendar.session(date(2026, 11, 27))
    assert (opens.time(), closes.time()) == (time(9, 30), time(13, 0))
    assert calendar.session(date(2026, 11, 25))[1].time() == time(16, 0)
    assert calendar.is_open(datetime(2026, 11, 27, 12, 59, tzinfo=NEW_YORK))
    assert not calendar.is_open(datetime(2026, 11, 27, 13, 0, tzinfo=NEW_YORK))


def test_calendar__early_close_quote_is_fresh_all_weekend():
    """Friday's 13:00 close stays fresh through the weekend (no open time passes after it)."""
    calendar = get_calendar()
    close = datetime(2026, 11, 27, 13, 0, tzinfo=NEW_YORK)
    threshold = calendar.stale_before(datetime(2026, 11, 29, 20, 0, tzinfo=NEW_YORK), 900)
    assert threshold == datetime(2026, 11, 27, 12, 45, tzinfo=NEW_YORK)
    assert close >= threshold


def test_calendar__built_in_rules_hold_past_any_list():
    """Years far from now still know their holidays (no list to run out)."""
    calendar = get_calendar()
    assert not calendar.is_trading_day(date(2031, 7, 4))  # Friday, Independence Day
    assert not calendar.is_trading_day(date(2031, 4, 11))  # Good Friday
    assert calendar.is_trading_day(date(2031, 7, 3))


def test_get_calendar__configured_holidays_replace_the_nyse_rules(settings):
    """A configured holiday list is the whole list, and brings no NYSE early closes."""
    settings.MARKET_HOLIDAYS = ["2026-12-28"]
    calendar = get_calendar()
    assert calendar.is_trading_day(date(2026, 12, 25))
    assert not calendar.is_trading_day(date(2026, 12, 28))
    assert calendar.session(date(2026, 11, 27))[1].time() == time(16, 0)


def test_get_calendar__configured_early_closes(settings):
    """MARKET_EARLY_CLOSES and MARKET_EARLY_CLOSE_TIME set a market's short sessions."""
    settings.MARKET_HOLIDAYS = ["2026-12-25"]
    settings.MARKET_EARLY_CLOSES = ["2026-12-24"]
    settings.MARKET_EARLY_CLOSE_TIME = "12:30"
    calendar = get_calendar()
    assert calendar.session(date(2026, 12, 24))[1].time() == time(12, 30)
    assert calendar.session(date(2026, 11, 27))[1].time() == time(16, 0)


def test_market_calendar__explicit_lists_have_no_early_closes_by_default():
    """A calendar built with its own holidays has full sessions unless told otherwise."""
    calendar = MarketCalendar(NEW_YORK, time(9, 30), time(16, 0), holidays=frozenset())
    assert calendar.session(date(2026, 11, 27))[1].time() == time(16, 0)
    assert calendar.is_trading_day(date(2026, 11, 26))
