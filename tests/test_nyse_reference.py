"""
The calendar the freshness rules stand on, checked day by day against an independent
implementation: the ``exchange_calendars`` package's XNYS (a test-only dependency), for every
weekday from 1998 to 2030: whether the exchange trades, and when each session opens and
closes (full-day closures and early closes, the irregular ones included).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

xc = pytest.importorskip("exchange_calendars")

from stocks.market_calendar import get_calendar  # noqa: E402

FIRST, LAST = date(1998, 1, 1), date(2030, 12, 31)


def test_every_weekday_1998_to_2030_matches_xnys(settings):
    settings.MARKET_HOLIDAYS = []
    settings.MARKET_EARLY_CLOSES = []
    ours = get_calendar()
    xnys = xc.get_calendar("XNYS", start=FIRST.isoformat(), end=LAST.isoformat())
    schedule = {
        stamp.date(): (row["open"].to_pydatetime(), row["close"].to_pydatetime())
        for stamp, row in xnys.schedule.iterrows()
    }
    differences, weekdays = [], 0
    day = FIRST
    while day <= LAST:
        if day.weekday() < 5:
            weekdays += 1
            theirs = schedule.get(day)
            if ours.is_trading_day(day) != (theirs is not None):
                differences.append((day, "trades" if theirs else "closed"))
            elif theirs is not None and ours.session(day) != theirs:
                differences.append((day, f"session {theirs}, ours {ours.session(day)}"))
        day += timedelta(days=1)
    assert weekdays == 8609
    assert differences == []
    # The irregular days are among those compared, as the reference has them.
    for closed in (date(2001, 9, 11), date(2012, 10, 29), date(2025, 1, 9)):
        assert closed not in schedule and not ours.is_trading_day(closed)
    for early in (date(1999, 12, 31), date(2002, 7, 5), date(2003, 12, 26)):
        assert schedule[early][1].astimezone(ours.tz).hour == 13
    assert schedule[date(2002, 7, 3)][1].astimezone(ours.tz).hour == 16
