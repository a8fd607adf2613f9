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

from .nyse import nyse_early_closes, nyse_holidays

# How far back to look for a trading session before giving up (covers any real closure).
_MAX_LOOKBACK_DAYS = 30


@dataclass(frozen=True)
class MarketCalendar:
    """
    One exchange's trading sessions, in the exchange's own time zone. ``holidays`` and
    ``early_closes`` are explicit lists, or None for the NYSE's rules (years from 1998).
    """

    tz: ZoneInfo
    open_time: time
    close_time: time
    holidays: frozenset[date] | None = None
    early_closes: frozenset[date] | None = frozenset()
    early_close_time: time = time(13, 0)

    def is_holiday(self, day: date) -> bool:
        return day in (self.holidays if self.holidays is not None else nyse_holidays(day.year))

    def is_early_close(self, day: date) -> bool:
        early = self.early_closes if self.early_closes is not None else nyse_early_closes(day.year)
        return day in early

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_holiday(day)

    def session(self, day: date) -> tuple[datetime, datetime]:
        """The (open, close) instants of ``day``'s session, time-zone aware."""
        closes = self.early_close_time if self.is_early_close(day) else self.close_time
        return (
            datetime.combine(day, self.open_time, tzinfo=self.tz),
            datetime.combine(day, closes, tzinfo=self.tz),
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


def _dates(values: tuple[str, ...]) -> frozenset[date]:
    return frozenset(date.fromisoformat(d) for d in values)


@lru_cache(maxsize=1)
def _calendar_for(
    tz_name: str,
    open_time: str,
    close_time: str,
    holidays: tuple[str, ...],
    early_closes: tuple[str, ...],
    early_close_time: str,
) -> MarketCalendar:
    # No configured holidays: the NYSE's rules, early closes included. A configured
    # (non-NYSE) holiday list has only the early closes configured beside it.
    early: frozenset[date] | None = None
    if early_closes:
        early = _dates(early_closes)
    elif holidays:
        early = frozenset()
    return MarketCalendar(
        tz=ZoneInfo(tz_name),
        open_time=time.fromisoformat(open_time),
        close_time=time.fromisoformat(close_time),
        holidays=_dates(holidays) if holidays else None,
        early_closes=early,
        early_close_time=time.fromisoformat(early_close_time),
    )


def get_calendar() -> MarketCalendar:
    """The configured market calendar (``MARKET_TIMEZONE``, ``MARKET_OPEN_TIME``, ...)."""
    return _calendar_for(
        settings.MARKET_TIMEZONE,
        settings.MARKET_OPEN_TIME,
        settings.MARKET_CLOSE_TIME,
        tuple(settings.MARKET_HOLIDAYS),
        tuple(settings.MARKET_EARLY_CLOSES),
        settings.MARKET_EARLY_CLOSE_TIME,
    )


def stale_threshold(now: datetime) -> datetime:
    """Quotes taken before this instant are stale (refresh interval + grace of open time)."""
    allowed = settings.MARKET_DATA_REFRESH_SECONDS + settings.MARKET_DATA_STALE_GRACE_SECONDS
    return get_calendar().stale_before(now, allowed)
