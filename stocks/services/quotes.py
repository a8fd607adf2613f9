"""
How a new quote updates a stock's stored one. A provider's quote may leave fields out
(None means unknown): what it does not say is kept or derived, never erased.

- Session fields (open, day high/low, volume) describe one trading day: kept only when
  the new quote is from the same day as the stored one.
- The previous close, when not given: the stored one on the same day, else the close of
  the stock's last daily bar before the quote's day.
- Fundamentals that move with the price are rescaled, since shares outstanding, the
  dividend per share and the earnings per share do not change with it: market cap
  in proportion, dividend yield inversely, P/E from EPS. The others are kept.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ..market_calendar import MarketCalendar
from ..models import Stock
from ..providers.base import Quote
from .validation import MAX_COUNT

TICK = Decimal("0.0001")
SESSION_FIELDS = ("open", "day_high", "day_low", "volume")


def quantize(value: Decimal | float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(TICK)


def session_day(at: datetime, calendar: MarketCalendar) -> date:
    return at.astimezone(calendar.tz).date()


def needs_previous_close(stock: Stock, quote: Quote, calendar: MarketCalendar) -> bool:
    """Whether the previous close must come from the daily bars."""
    return quote.previous_close is None and not _same_session(stock, quote, calendar)


def _same_session(stock: Stock, quote: Quote, calendar: MarketCalendar) -> bool:
    return stock.quote_time is not None and session_day(stock.quote_time, calendar) == session_day(
        quote.quote_time, calendar
    )


def apply_quote(
    stock: Stock, quote: Quote, *, calendar: MarketCalendar, bar_close: Decimal | None
) -> None:
    """Update ``stock``'s quote fields in place from ``quote`` (see the module docstring)."""
    same_session = _same_session(stock, quote, calendar)
    old_price = stock.price
    price = quantize(quote.price)

    for name in SESSION_FIELDS:
        value = getattr(quote, name)
        if value is not None or not same_session:
            setattr(stock, name, value if name == "volume" else quantize(value))
    if quote.previous_close is not None:
        stock.previous_close = quantize(quote.previous_close)
    elif not same_session:
        stock.previous_close = quantize(bar_close)

    # Without a stored price there is nothing to rescale from: stored values are kept.
    ratio = price / old_price if old_price else None
    if quote.market_cap is not None:
        stock.market_cap = quote.market_cap
    elif stock.market_cap is not None and ratio is not None:
        scaled = round(stock.market_cap * ratio)
        stock.market_cap = scaled if scaled <= MAX_COUNT else None
    if quote.dividend_yield is not None:
        stock.dividend_yield = quote.dividend_yield
    elif stock.dividend_yield is not None and ratio is not None:
        stock.dividend_yield = round(stock.dividend_yield / float(ratio), 4)
    if quote.eps is not None:
        stock.eps = quantize(quote.eps)
    if quote.pe_ratio is not None:
        stock.pe_ratio = quote.pe_ratio
    elif stock.eps is not None:
        # No P/E for a loss, as providers publish it.
        stock.pe_ratio = round(float(price / stock.eps), 2) if stock.eps > 0 else None
    if quote.beta is not None:
        stock.beta = quote.beta

    stock.price = price
    stock.quote_time = quote.quote_time
    if stock.previous_close:
        stock.change = price - stock.previous_close
        stock.change_percent = round(float(stock.change / stock.previous_close * 100), 4)
    else:
        stock.change = stock.change_percent = None
