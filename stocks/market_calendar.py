"""
When the market is open, and what that means for the freshness of a quote.

A quote is stale when more market-open time than the refresh interval plus a grace period
has passed since it was taken. Counting only open time is what makes Friday's closing
price fresh all weekend, and a price from before a holiday fresh through the holiday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings

# NYSE full-day closures (early closes are treated as full sessions).
NYSE_HOLIDAYS = frozenset(
    date.fromisoformat(d)
    for d in (
        "2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26",
        "2025-06-19", "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25",
        "2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19",
        "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25",
        "2027-01-01", "2027-01-18", "2027-02-15", "2027-03-26", "2027-05-31", "2027-06-18",
        "2027-07-05", "2027-09-06", "2027-11-25", "2027-12-24",
    )
)  # fmt: skip

# How far back to look for a trading session before giving up (covers any real closure).
_MAX_LOOKBACK_DAYS = 30


@dataclass(frozen=True)
class MarketCalendar:
    """One exchange's trading sessions, in the exchange's own time zone."""

    tz: ZoneInfo
    open_time: time
    close_time: time
    holidays: frozenset[date]

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def session(self, day: date) -> tuple[datetime, datetime]:
        """The (open, close) instants of ``day``'s session, time-zone aware."""
        return (
            datetime.combine(day, self.open_time, tzinfo=self.tz),
            datetime.combine(day, self.close_time, tzinfo=self.tz),
        )

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        if not self.is_trading_day(local.date()):
            return False
        opens, closes = self.session(local.date())
        return opens <= local < closes

    def previous_trading_day(self, day: date) -> date:
        """The last trading day strictly before ``day``."""
        for back in range(1, _MAX_LOOKBACK_DAYS + 1):
            candidate = day - timedelta(days=back)
            if self.is_trading_day(candidate):
                return candidate
        raise ValueError(f"no trading day in the {_MAX_LOOKBACK_DAYS} days before {day}")

    def last_completed_session(self, at: datetime) -> date:
        """The latest trading day whose session had closed by ``at``."""
        local = at.astimezone(self.tz)
        day = local.date()
        if self.is_trading_day(day) and local >= self.session(day)[1]:
            return day
        return self.previous_trading_day(day)

    def trading_days(self, start: date, end: date) -> list[date]:
        """Trading days from ``start`` to ``end``, both included."""
        days = []
        day = start
        while day <= end:
            if self.is_trading_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def stale_before(self, now: datetime, max_open_seconds: float) -> datetime:
        """
        The instant before which a quote counts as stale at ``now``: walking back from
        ``now``, the point where ``max_open_seconds`` of open-market time has passed.
        """
        remaining = timedelta(seconds=max_open_seconds)
        cursor = now.astimezone(self.tz)
        day = cursor.date()
        for _ in range(_MAX_LOOKBACK_DAYS * 2):
            if self.is_trading_day(day):
                opens, closes = self.session(day)
                cursor = min(cursor, closes)
                if cursor > opens:
                    available = cursor - opens
                    if available >= remaining:
                        return cursor - remaining
                    remaining -= available
                cursor = opens
            day -= timedelta(days=1)
        return cursor


@lru_cache(maxsize=1)
def _calendar_for(
    tz_name: str, open_time: str, close_time: str, holidays: tuple[str, ...]
) -> MarketCalendar:
    return MarketCalendar(
        tz=ZoneInfo(tz_name),
        open_time=time.fromisoformat(open_time),
        close_time=time.fromisoformat(close_time),
        holidays=frozenset(date.fromisoformat(d) for d in holidays) if holidays else NYSE_HOLIDAYS,
    )


def get_calendar() -> MarketCalendar:
    """The configured market calendar (``MARKET_TIMEZONE``, ``MARKET_OPEN_TIME``, ...)."""
    return _calendar_for(
        settings.MARKET_TIMEZONE,
        settings.MARKET_OPEN_TIME,
        settings.MARKET_CLOSE_TIME,
        tuple(settings.MARKET_HOLIDAYS),
    )


def stale_threshold(now: datetime) -> datetime:
    """Quotes taken before this instant are stale (refresh interval + grace of open time)."""
    allowed = settings.MARKET_DATA_REFRESH_SECONDS + settings.MARKET_DATA_STALE_GRACE_SECONDS
    return get_calendar().stale_before(now, allowed)
