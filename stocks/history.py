"""Price history for charts: daily bars, or weekly/monthly bars aggregated from them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from .models import PriceBar

PERIOD_MONTHS = {"1m": 1, "3m": 3, "6m": 6, "1y": 12, "5y": 60}
# The earliest day every supported database stores (MySQL's DATE starts here): a bound
# before it asks for the same bars as this one.
EARLIEST = date(1000, 1, 1)

Row = tuple[date, Decimal, Decimal, Decimal, Decimal, int]


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, clamped to the month's end (Mar 31 - 1m = Feb 28)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def window(
    *, period: str | None, start: date | None, end: date | None, today: date
) -> tuple[date | None, date | None]:
    """
    The (start, end) of a history request: every bound given holds. ``period`` counts back
    from ``end`` (else today); with ``start`` as well, the later of the two starts. Bounds
    that leave no day (start after end) give no bars, not an error.
    """
    if period:
        counted = period_start(period, end or today)
        start = max(start, counted) if start and counted else (start or counted)
    if start is not None and start < EARLIEST:
        start = EARLIEST
    if end is not None and end < EARLIEST:
        end = EARLIEST - timedelta(days=1)
    return start, end


def period_start(period: str, today: date) -> date | None:
    """First day of ``period`` ending today; None for ``max`` (or before the calendar)."""
    if period == "max" or today - EARLIEST < timedelta(days=31 * PERIOD_MONTHS[period]):
        return None  # counted back past the earliest day: unbounded, as EARLIEST is
    return months_before(today, PERIOD_MONTHS[period])


def _bucket(day: date, interval: str) -> date:
    if interval == "1wk":
        return day - timedelta(days=day.weekday())
    if interval == "1mo":
        return day.replace(day=1)
    return day


def aggregate(rows: Iterable[Row], interval: str) -> list[dict]:
    """
    Daily rows (oldest first) into bars of ``interval``: open of the first day, highest
    high, lowest low, close of the last day, summed volume. A bar is dated by its first
    trading day, so a week starting on a holiday Monday is dated Tuesday.
    """
    bars: list[dict] = []
    current_bucket = None
    for day, opened, high, low, close, volume in rows:
        bucket = _bucket(day, interval)
        if bucket != current_bucket:
            current_bucket = bucket
            bars.append(
                {"date": day, "open": opened, "high": high, "low": low, "close": close,
                 "volume": volume}
            )  # fmt: skip
            continue
        bar = bars[-1]
        bar["high"] = max(bar["high"], high)
        bar["low"] = min(bar["low"], low)
        bar["close"] = close
        bar["volume"] += volume
    return bars


def price_history(*, stock_id: int, interval: str, start: date | None, end: date | None) -> list:
    """Bars of one stock between ``start`` and ``end`` (inclusive; None = unbounded)."""
    rows = PriceBar.objects.for_history(stock_id, start, end)
    return aggregate(rows, interval)
