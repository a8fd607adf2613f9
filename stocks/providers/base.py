"""What a market-data provider hands to ingest: plain, frozen values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class Listing:
    """Reference data of a security. None: the provider does not say (the stored value stays)."""

    ticker: str
    name: str
    exchange: str | None = None
    sector: str | None = None
    industry: str | None = None
    country: str | None = None
    currency: str | None = "USD"


@dataclass(frozen=True)
class Quote:
    """The latest quote, plus the fundamentals a provider knows (None = unknown)."""

    ticker: str
    price: Decimal
    quote_time: datetime
    previous_close: Decimal | None = None
    open: Decimal | None = None
    day_high: Decimal | None = None
    day_low: Decimal | None = None
    volume: int | None = None
    market_cap: int | None = None
    pe_ratio: float | None = None
    eps: Decimal | None = None
    dividend_yield: float | None = None
    beta: float | None = None


@dataclass(frozen=True)
class Bar:
    """One daily OHLCV bar."""

    ticker: str
    date: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int


class ProviderError(Exception):
    """A provider call did not give data."""


class ProviderUnavailable(ProviderError):
    """
    Worth trying again later: the provider could not be reached, timed out, answered 429 or
    5xx, or sent a body cut short. ``retry_after``: the seconds it asked for, if it did.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderRefused(ProviderError):
    """
    The provider refused the request as it stands (401 bad key, 403 not in the plan, 4xx):
    asking again will not help until an operator changes something.
    """


class CircuitOpen(ProviderError):
    """Not asked: the provider's circuit breaker is open after repeated failures."""


class MarketDataProvider(Protocol):
    """
    ``market_wide``: ``get_quotes`` and ``get_daily_bars`` answer for the whole market in one
    call (tickers it is not asked for may come back, and are ignored); else they are asked
    in chunks of tickers. ``get_listings``: every security the provider lists now, or None
    when it has no listing (the stocks table is then managed by hand).
    """

    name: str
    market_wide: bool

    def get_quotes(self, tickers: Sequence[str]) -> list[Quote]: ...

    def get_daily_bars(self, tickers: Sequence[str], start: date, end: date) -> list[Bar]: ...

    def get_listings(self) -> list[Listing] | None: ...
