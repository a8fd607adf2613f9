"""
The New York Stock Exchange's holidays and early closes, by its published rules (NYSE Rule
7.2 and the exchange's holiday notices), for every year since 1998; earlier years had
other rules and closures not listed here.

Full-day closures: New Year's Day, Martin Luther King Jr. Day (third Monday of January, from
1998),
Washington's Birthday (third Monday of February), Good Friday, Memorial Day (last Monday
of May), Juneteenth (from 2022), Independence Day, Labor Day (first Monday of September),
Thanksgiving (fourth Thursday of November) and Christmas. A holiday on a Saturday is
observed the Friday before and one on a Sunday the Monday after, except New Year's Day on
a Saturday, which is not observed (the Friday before closes a year). Unscheduled closures
(national days of mourning, storms) are listed in ``SPECIAL_CLOSURES``.

Early closes (13:00 New York): the day after Thanksgiving, and July 3 and December 24
when they fall Monday to Thursday (on a Friday they are the observed holiday). The
exceptions the exchange made are listed in ``SPECIAL_EARLY_CLOSES`` (early closes no rule
gives) and ``SPECIAL_FULL_SESSIONS`` (days a rule gives that traded the whole session).
``tests/test_nyse_reference.py`` checks every weekday from 1998 to 2030 against an
independent implementation (the ``exchange_calendars`` package's XNYS).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

MONDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = 0, 3, 4, 5, 6

SPECIAL_CLOSURES = frozenset(
    date.fromisoformat(d)
    for d in (
        "2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14",  # September 11
        "2004-06-11",  # President Reagan's funeral
        "2007-01-02",  # President Ford's funeral
        "2012-10-29", "2012-10-30",  # Hurricane Sandy
        "2018-12-05",  # President G. H. W. Bush's funeral
        "2025-01-09",  # President Carter's funeral
    )
)  # fmt: skip


SPECIAL_EARLY_CLOSES = frozenset(
    date.fromisoformat(d)
    for d in (
        "1999-12-31",  # the millennium's New Year's Eve
        "2002-07-05",  # the Friday after Independence Day, instead of July 3
        "2003-12-26",  # the Friday after Christmas
    )
)  # fmt: skip
SPECIAL_FULL_SESSIONS = frozenset({date(2002, 7, 3)})  # the early close moved to July 5


def easter(year: int) -> date:
    """Western (Gregorian) Easter Sunday: the anonymous Gregorian algorithm (Meeus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    if day.weekday() == SATURDAY:
        return day - timedelta(days=1)
    if day.weekday() == SUNDAY:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=128)
def nyse_holidays(year: int) -> frozenset[date]:
    """The weekdays the NYSE is closed all day in ``year``."""
    days = {
        _nth_weekday(year, 2, MONDAY, 3),
        easter(year) - timedelta(days=2),
        _last_weekday(year, 5, MONDAY),
        _observed(date(year, 7, 4)),
        _nth_weekday(year, 9, MONDAY, 1),
        _nth_weekday(year, 11, THURSDAY, 4),
        _observed(date(year, 12, 25)),
    }
    new_year = date(year, 1, 1)
    if new_year.weekday() != SATURDAY:
        days.add(_observed(new_year))
    if year >= 1998:  # the NYSE's first Martin Luther King Jr. Day closure
        days.add(_nth_weekday(year, 1, MONDAY, 3))
    if year >= 2022:
        days.add(_observed(date(year, 6, 19)))
    days.update(day for day in SPECIAL_CLOSURES if day.year == year)
    return frozenset(days)


@lru_cache(maxsize=128)
def nyse_early_closes(year: int) -> frozenset[date]:
    """The days the NYSE closes at 13:00 in ``year``."""
    days = {_nth_weekday(year, 11, THURSDAY, 4) + timedelta(days=1)}
    for eve in (date(year, 7, 3), date(year, 12, 24)):
        if eve.weekday() <= THURSDAY:
            days.add(eve)
    days = (days - SPECIAL_FULL_SESSIONS) | {d for d in SPECIAL_EARLY_CLOSES if d.year == year}
    return frozenset(days - nyse_holidays(year))
