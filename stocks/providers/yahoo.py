"""
Yahoo Finance through yfinance, an optional extra (``pip install -r requirements-yahoo.txt``):
no key, no published limits or terms for automated use, so for personal deployments and
development rather than paying members.

- quotes: one batch download of today's 1-minute bars (``period="1d", interval="1m"``) for
  a chunk of tickers: the price is the last bar's close, the quote time the end of that
  bar, the session's open, high, low and volume from all of them. The previous close comes
  from the stored daily bars (ingest derives it), as Yahoo's 1-minute bars do not carry it.
- daily bars: one batch download of daily bars (``interval="1d"``, not dividend-adjusted)
  from ``start`` to ``end``.
- no listing: the stocks table is managed by hand (or by another provider's listing).

yfinance swallows per-ticker failures (network errors and rate limits included: a ticker
it could not fetch comes back empty): those tickers are simply absent. Nothing at all for
several tickers is a ``ProviderUnavailable`` (an outage), retried like any other
(``calls``); nothing for a single ticker (delisted, alone in its chunk) is an empty answer.
Yahoo writes a class share with a dash (``BRK-B``): tickers are mapped both ways.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from . import calls
from .base import Bar, ProviderUnavailable, Quote

logger = logging.getLogger("stocks.providers")

MINUTE = timedelta(minutes=1)
FIELDS = ("Open", "High", "Low", "Close", "Volume")


def _yfinance():
    try:
        import yfinance
    except ImportError as exc:
        raise ImproperlyConfigured(
            "MARKET_DATA_PROVIDER=yahoo needs yfinance: pip install -r requirements-yahoo.txt"
        ) from exc
    return yfinance


def yahoo_symbol(ticker: str) -> str:
    return ticker.replace(".", "-")


def _price(value: Any) -> Decimal | None:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        return None
    return Decimal(str(round(number, 4)))


def _volume(value: Any) -> int | None:
    number = float(value)
    return round(number) if math.isfinite(number) and number >= 0 else None


class YahooProvider:
    name = "yahoo"
    market_wide = False

    def __init__(self) -> None:
        self.yf = _yfinance()

    def _download(self, tickers: Sequence[str], endpoint: str, what: str, **kwargs):
        """The frame of one batch download: columns (symbol, field), as group_by="ticker"."""
        symbols = [yahoo_symbol(t) for t in tickers]

        def request():
            try:
                frame = self.yf.download(
                    symbols,
                    group_by="ticker",
                    auto_adjust=False,
                    actions=False,
                    progress=False,
                    multi_level_index=True,
                    timeout=settings.PROVIDER_TIMEOUT_SECONDS,
                    **kwargs,
                )
            except SoftTimeLimitExceeded:
                raise  # our own time limit, not Yahoo's failure
            except Exception as exc:  # yfinance raises its own and requests'
                raise ProviderUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
            if (frame is None or frame.empty) and len(symbols) > 1:
                # yfinance catches every ticker's error (network, rate limit) and returns
                # an empty frame: nothing for several tickers at once is an outage.
                raise ProviderUnavailable(f"{what}: no data for any of {len(symbols)} tickers")
            return frame

        frame = calls.call(self.name, request, endpoint=endpoint, what=what)
        if frame is None or frame.empty:
            # One ticker with nothing (delisted, alone in its chunk): an empty answer.
            logger.info("yahoo %s: no data for %s", what, symbols[0])
            return {}
        return {
            ticker: frame[symbol].dropna(subset=["Close"])
            for ticker, symbol in zip(tickers, symbols, strict=True)
            if symbol in frame.columns.get_level_values(0)
        }

    def get_daily_bars(self, tickers: Sequence[str], start: date, end: date) -> list[Bar]:
        frames = self._download(
            tickers,
            "bars",
            f"daily bars {start}..{end}",
            start=start.isoformat(),
            end=(end + timedelta(days=1)).isoformat(),  # yfinance's end is exclusive
            interval="1d",
        )
        bars = []
        for ticker, frame in frames.items():
            for stamp, row in frame.iterrows():
                prices = [_price(row[field]) for field in FIELDS[:4]]
                volume = _volume(row["Volume"])
                if None in prices or volume is None:
                    continue
                day = stamp.date()
                if start <= day <= end:
                    bars.append(Bar(ticker, day, *prices, volume))
        return bars

    def get_quotes(self, tickers: Sequence[str]) -> list[Quote]:
        frames = self._download(
            tickers, "quotes", "quotes", period="1d", interval="1m", prepost=False
        )
        now = timezone.now()
        quotes = []
        for ticker, frame in frames.items():
            if frame.empty:
                continue
            price = _price(frame["Close"].iloc[-1])
            stamp = frame.index[-1].to_pydatetime()
            if price is None or stamp.tzinfo is None:
                continue
            quotes.append(
                Quote(
                    ticker=ticker,
                    price=price,
                    quote_time=min(stamp + MINUTE, now),  # the end of the last bar
                    open=_price(frame["Open"].iloc[0]),
                    day_high=_price(frame["High"].max()),
                    day_low=_price(frame["Low"].min()),
                    volume=_volume(frame["Volume"].sum()),
                )
            )
        return quotes

    def get_listings(self) -> None:
        return None
