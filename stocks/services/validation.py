"""
What makes a bar or a quote storable. Each check appends ``RowError``s and never raises,
so a caller reports every bad row of an input at once, not just the first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from ..market_calendar import MarketCalendar
from ..providers.base import Bar, Quote

# The model's DecimalField(max_digits=18, decimal_places=4) holds under 10**14.
MAX_PRICE = Decimal(10) ** 14
TICK = Decimal("0.0001")
# BigIntegerField: volumes and market caps must fit a signed 64-bit integer.
MAX_COUNT = 2**63 - 1
# A quote stamped later than this ahead of our clock is a provider error, not the future:
# stored, it would outrank every real quote after it.
QUOTE_CLOCK_SKEW = timedelta(minutes=5)
_BAR_PRICES = ("open", "high", "low", "close")


@dataclass(frozen=True)
class RowError:
    """A rejected input row: its position in the input (0-based) and why."""

    index: int
    message: str


class RowChecker:
    """Collects the errors of one row under a label such as ``ACME 2026-11-20``."""

    def __init__(self, index: int, label: str, errors: list[RowError]) -> None:
        self.index, self.label, self.errors = index, label, errors
        self.reported = len(errors)

    @property
    def ok(self) -> bool:
        return len(self.errors) == self.reported

    def fail(self, message: str) -> None:
        self.errors.append(RowError(self.index, f"{self.label}: {message}"))

    def price(self, name: str, value: Decimal | float | None, *, required: bool = False) -> bool:
        """A positive price the columns can store; True when usable."""
        if value is None:
            if required:
                self.fail(f"{name} is missing")
            return False
        if not _finite(value) or value <= 0:
            self.fail(f"{name} must be a positive number")
            return False
        # What is stored is the value at four decimals: that must be positive and fit.
        if value >= MAX_PRICE or (stored := quantize(value)) >= MAX_PRICE:
            self.fail(f"{name} {value} is too large")
            return False
        if stored <= 0:
            self.fail(f"{name} {value} is zero at four decimals")
            return False
        return True

    def count(self, name: str, value: int | None, *, required: bool = False) -> None:
        """A whole number from 0 to 2**63 - 1 (volumes, market caps)."""
        if value is None:
            if required:
                self.fail(f"{name} is missing")
            return
        if value < 0:
            self.fail(f"{name} must be >= 0")
        elif value > MAX_COUNT:
            self.fail(f"{name} {value} is too large")

    def number(self, name: str, value: float | None) -> None:
        """An optional ratio (P/E, yield, beta): any finite number."""
        if value is not None and not _finite(value):
            self.fail(f"{name} must be a finite number")


def quantize(value: Decimal | float | None) -> Decimal | None:
    """A price as the columns store it: four decimals."""
    if value is None:
        return None
    if type(value) is Decimal:  # exact already: no round trip through its text (the hot path)
        return value.quantize(TICK)
    return Decimal(str(value)).quantize(TICK)


def _finite(value: Decimal | float) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def check_bar(
    index: int, bar: Bar, errors: list[RowError], *, calendar: MarketCalendar, today: date
) -> None:
    """Prices positive and storable, high/low bounding open/close, a trading day not ahead."""
    row = RowChecker(index, f"{bar.ticker} {bar.date}", errors)
    prices = [row.price(name, getattr(bar, name), required=True) for name in _BAR_PRICES]
    if all(prices) and (
        bar.high < max(bar.open, bar.close, bar.low) or bar.low > min(bar.open, bar.close)
    ):
        row.fail("high/low do not bound open/close")
    row.count("volume", bar.volume, required=True)
    if bar.date > today:
        row.fail(f"the date is after today ({today} in {calendar.tz.key})")
    elif not calendar.is_trading_day(bar.date):
        row.fail("not a trading day (a weekend or market holiday; see MARKET_HOLIDAYS)")


def check_quote(index: int, quote: Quote, errors: list[RowError], *, now: datetime) -> bool:
    """Every field storable and consistent; True when the row is good."""
    row = RowChecker(index, quote.ticker, errors)
    row.price("price", quote.price, required=True)
    for name in ("previous_close", "open", "day_high", "day_low"):
        row.price(name, getattr(quote, name))
    # EPS is negative for a loss; only its size is bounded.
    if quote.eps is not None and not (
        _finite(quote.eps) and abs(quote.eps) < MAX_PRICE and abs(quantize(quote.eps)) < MAX_PRICE
    ):
        row.fail("eps must be a finite number under 10**14 in size")
    if (
        row.ok
        and quote.day_high is not None
        and quote.day_low is not None
        and quote.day_high < quote.day_low
    ):
        row.fail("day_high is below day_low")
    row.count("volume", quote.volume)
    row.count("market_cap", quote.market_cap)
    for name in ("pe_ratio", "dividend_yield", "beta"):
        row.number(name, getattr(quote, name))
    if quote.quote_time is None or quote.quote_time.tzinfo is None:
        row.fail("quote_time must be time-zone aware")
    elif quote.quote_time > now + QUOTE_CLOCK_SKEW:
        row.fail(f"quote_time {quote.quote_time.isoformat()} is in the future")
    return row.ok
