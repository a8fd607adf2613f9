"""
How a new quote updates a stock's stored one. A provider's quote may leave fields out
(None means unknown): what it does not say is kept or derived, never erased.

- A quote belongs to the trading session that last opened before it was taken (a quote
  stamped on Saturday is Friday's).
- Session fields (open, day high/low, volume) describe one session: kept only when the
  new quote is from the same session as the stored one.
- The previous close, when not given: the stored one within the same session; else the
  stored price if it is the previous session's closing quote; else the close of the
  stock's last daily bar before the quote's session.
- Fundamentals that move with the price are rescaled, since shares outstanding, the
  dividend per share and the earnings per share do not change with it: market cap in
  proportion, dividend yield inversely, P/E from EPS (or in proportion when EPS is
  unknown). Beta is kept.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ..market_calendar import MarketCalendar
from ..models import Stock
from ..providers.base import Quote
from .validation import MAX_COUNT, quantize

SESSION_FIELDS = ("open", "day_high", "day_low", "volume")
# The columns a quote writes.
QUOTE_FIELDS = [
    "price", "previous_close", "open", "day_high", "day_low", "change", "change_percent",
    "volume", "quote_time", "market_cap", "pe_ratio", "eps", "dividend_yield", "beta",
]  # fmt: skip


def session_day(at: datetime, calendar: MarketCalendar) -> date:
    """
    The trading session a quote belongs to: the last one that had opened by ``at``. A quote
    stamped at the weekend or before Monday's open is still Friday's.
    """
    local = at.astimezone(calendar.tz)
    day = local.date()
    if calendar.is_trading_day(day) and local >= calendar.session(day)[0]:
        return day
    return calendar.previous_trading_day(day)


def needs_previous_close(stock: Stock, quote: Quote, calendar: MarketCalendar) -> bool:
    """Whether the previous close must come from the daily bars."""
    return (
        quote.previous_close is None
        and not _same_session(stock, quote, calendar)
        and _stored_close_of_previous_session(stock, quote, calendar) is None
    )


def _same_session(stock: Stock, quote: Quote, calendar: MarketCalendar) -> bool:
    return stock.quote_time is not None and session_day(stock.quote_time, calendar) == session_day(
        quote.quote_time, calendar
    )


def _stored_close_of_previous_session(
    stock: Stock, quote: Quote, calendar: MarketCalendar
) -> Decimal | None:
    """The stored price, if it is the closing quote of the session before the quote's."""
    if stock.quote_time is None or stock.price is None:
        return None
    previous = calendar.previous_trading_day(session_day(quote.quote_time, calendar))
    if stock.quote_time >= calendar.session(previous)[1] and (
        session_day(stock.quote_time, calendar) == previous
    ):
        return stock.price
    return None


def apply_quote(
    stock: Stock, quote: Quote, *, calendar: MarketCalendar, bar_close: Decimal | None
) -> bool:
    """
    Update ``stock``'s quote fields in place from ``quote`` (see the module docstring);
    whether any of them changed.
    """
    before = [getattr(stock, name) for name in QUOTE_FIELDS]
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
        stored_close = _stored_close_of_previous_session(stock, quote, calendar)
        stock.previous_close = quantize(stored_close if stored_close is not None else bar_close)

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
    elif stock.pe_ratio is not None and ratio is not None:
        stock.pe_ratio = round(stock.pe_ratio * float(ratio), 2)  # the earnings did not move
    if quote.beta is not None:
        stock.beta = quote.beta

    stock.price = price
    stock.quote_time = quote.quote_time
    if stock.previous_close:
        stock.change = price - stock.previous_close
        stock.change_percent = round(float(stock.change / stock.previous_close * 100), 4)
    else:
        stock.change = stock.change_percent = None
    return [getattr(stock, name) for name in QUOTE_FIELDS] != before
