"""What a market-data provider hands to ingest: plain, frozen values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class Listing:
    """Reference data of a security."""

    ticker: str
    name: str
    exchange: str = ""
    sector: str = ""
    industry: str = ""
    country: str = ""
    currency: str = "USD"


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


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with an error."""


class MarketDataProvider(Protocol):
    name: str

    def get_quotes(self, tickers: Sequence[str]) -> list[Quote]: ...

    def get_daily_bars(self, tickers: Sequence[str], start: date, end: date) -> list[Bar]: ...
