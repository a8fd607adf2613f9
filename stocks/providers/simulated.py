"""
Simulated market data: a seeded, deterministic random walk per ticker.

The walk starts at a fixed epoch and steps once per trading day, so the bar for a given
ticker and date is the same whenever it is generated: loading again the same day changes
nothing, and loading a day later only adds that day. Intraday quotes are drawn from the
previous close with a seed per (ticker, minute), so they are deterministic too.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from ..market_calendar import MarketCalendar, get_calendar
from .base import Bar, Quote

EPOCH = date(2024, 1, 2)
CENT = Decimal("0.01")


def seed_for(*parts: object) -> int:
    """A stable seed (Python's hash() is salted per process)."""
    text = "|".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


@dataclass(frozen=True)
class Profile:
    """A ticker's simulated character: where it starts, how it moves, its fundamentals."""

    start_price: float
    daily_sigma: float
    drift: float
    base_volume: float
    shares_outstanding: int
    eps: float
    dividend_yield: float
    beta: float

    @classmethod
    def for_ticker(cls, ticker: str) -> Profile:
        rng = random.Random(seed_for("profile", ticker))
        eps = rng.uniform(-2.0, 12.0)
        start_price = math.exp(rng.uniform(math.log(8), math.log(600)))
        market_cap = math.exp(rng.uniform(math.log(2e9), math.log(2e12)))
        return cls(
            start_price=start_price,
            daily_sigma=rng.uniform(0.008, 0.035),
            drift=rng.uniform(-0.0003, 0.0006),
            base_volume=math.exp(rng.uniform(math.log(2e5), math.log(6e7))),
            shares_outstanding=int(market_cap / start_price),
            eps=eps,
            dividend_yield=0.0 if rng.random() < 0.35 else rng.uniform(0.3, 5.5),
            beta=rng.uniform(0.4, 2.0),
        )


@dataclass(frozen=True)
class Series:
    """A walk's daily columns, oldest first, as floats."""

    opens: list[float]
    highs: list[float]
    lows: list[float]
    closes: list[float]
    volumes: list[int]


def random_walk(ticker: str, length: int, start: object, profile: Profile | None = None) -> Series:
    """``length`` steps of the ticker's walk; ``start`` names where it begins (part of the seed)."""
    profile = profile or Profile.for_ticker(ticker)
    rng = random.Random(seed_for("walk", ticker, start))
    gauss = rng.gauss
    sigma, drift, base_volume = profile.daily_sigma, profile.drift, profile.base_volume
    close = profile.start_price
    series = Series([], [], [], [], [])
    for _ in range(length):
        opened = close * math.exp(gauss(0, sigma / 3))
        close = close * math.exp(gauss(drift, sigma))
        series.opens.append(opened)
        series.closes.append(close)
        series.highs.append(max(opened, close) * (1 + abs(gauss(0, sigma / 2))))
        series.lows.append(min(opened, close) * (1 - min(abs(gauss(0, sigma / 2)), 0.5)))
        series.volumes.append(int(base_volume * math.exp(gauss(0, 0.35))))
    return series


def random_walk_bars(ticker: str, days: Sequence[date]) -> list[Bar]:
    """Daily bars for ``days`` (consecutive trading days, oldest first) of one ticker."""
    walk = random_walk(ticker, len(days), days[0] if days else "")
    return [
        Bar(
            ticker=ticker,
            date=day,
            open=_money(walk.opens[i]),
            high=_money(walk.highs[i]),
            low=_money(walk.lows[i]),
            close=_money(walk.closes[i]),
            volume=walk.volumes[i],
        )
        for i, day in enumerate(days)
    ]


def quote_from_bars(ticker: str, bars: Sequence[Bar], calendar: MarketCalendar) -> Quote:
    """The closing quote of the last bar, with fundamentals from the ticker's profile."""
    last, previous = bars[-1], bars[-2] if len(bars) > 1 else None
    profile = Profile.for_ticker(ticker)
    price = float(last.close)
    return Quote(
        ticker=ticker,
        price=last.close,
        quote_time=calendar.session(last.date)[1],
        previous_close=previous.close if previous else None,
        open=last.open,
        day_high=last.high,
        day_low=last.low,
        volume=last.volume,
        market_cap=int(price * profile.shares_outstanding),
        pe_ratio=round(price / profile.eps, 2) if profile.eps > 0.05 else None,
        eps=_money(profile.eps),
        dividend_yield=round(profile.dividend_yield, 2),
        beta=round(profile.beta, 2),
    )


class SimulatedProvider:
    """A provider that needs no network: the embedded default and the tests use it."""

    name = "simulated"
    market_wide = False

    def __init__(self, calendar: MarketCalendar | None = None) -> None:
        self.calendar = calendar or get_calendar()

    def history(self, ticker: str, end: date) -> list[Bar]:
        """Every bar from the epoch to ``end``."""
        return random_walk_bars(ticker, self.calendar.trading_days(EPOCH, end))

    def get_daily_bars(self, tickers: Sequence[str], start: date, end: date) -> list[Bar]:
        return [bar for t in tickers for bar in self.history(t, end) if bar.date >= start]

    def get_listings(self) -> None:
        return None  # the sample company list is loaded by load_sample_data

    def get_quotes(self, tickers: Sequence[str], at: datetime | None = None) -> list[Quote]:
        """Quotes at ``at``: the last close, moved by a seeded step while the market is open."""
        at = at or timezone.now()
        last_session = self.calendar.last_completed_session(at)
        quotes = []
        for ticker in tickers:
            bars = self.history(ticker, last_session)
            closing = quote_from_bars(ticker, bars, self.calendar)
            if not self.calendar.is_open(at):
                quotes.append(closing)
                continue
            quotes.append(self._intraday(ticker, closing, at))
        return quotes

    def _intraday(self, ticker: str, closing: Quote, at: datetime) -> Quote:
        profile = Profile.for_ticker(ticker)
        opens, closes = self.calendar.session(at.astimezone(self.calendar.tz).date())
        elapsed = (at - opens) / (closes - opens)
        rng = random.Random(seed_for("intraday", ticker, at.replace(second=0, microsecond=0)))
        previous = float(closing.price)
        price = previous * math.exp(rng.gauss(0, profile.daily_sigma * math.sqrt(elapsed)))
        opened = previous * math.exp(random.Random(seed_for("open", ticker, opens)).gauss(0, 0.004))
        shares = profile.shares_outstanding
        return Quote(
            ticker=ticker,
            price=_money(price),
            quote_time=at,
            previous_close=closing.price,
            open=_money(opened),
            day_high=_money(max(price, opened, previous) * (1 + rng.uniform(0, 0.004))),
            day_low=_money(min(price, opened, previous) * (1 - rng.uniform(0, 0.004))),
            volume=int(profile.base_volume * elapsed),
            market_cap=int(price * shares),
            pe_ratio=round(price / profile.eps, 2) if profile.eps > 0.05 else None,
            eps=closing.eps,
            dividend_yield=closing.dividend_yield,
            beta=closing.beta,
        )
