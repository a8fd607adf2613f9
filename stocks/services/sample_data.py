"""
Sample data for the embedded default and for benchmarks.

The company list is real (the S&P 500, shipped in ``stocks/data/sp500.csv``); prices
are simulated (``stocks.providers.simulated``). Loading goes through the ingest
service like any provider's data, and loading twice changes nothing.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from ..market_calendar import get_calendar
from ..models import PriceBar, Stock
from ..providers.base import Listing
from ..providers.simulated import Profile, SimulatedProvider, quote_from_bars, random_walk, seed_for
from . import ingest

SAMPLE_FILE = Path(__file__).resolve().parent.parent / "data" / "sp500.csv"
HISTORY_DAYS = 366
# Enough steps for every indicator (SMA 200, 52-week range) of a synthetic stock.
SYNTHETIC_WALK_DAYS = 260


@dataclass(frozen=True)
class SampleLoad:
    stocks: int
    bars: int
    up_to_date: bool


def read_listings(path: Path = SAMPLE_FILE) -> list[Listing]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [Listing(**row) for row in csv.DictReader(handle)]


def load_sample_data(*, now: datetime | None = None, force: bool = False) -> SampleLoad:
    """Load the S&P 500 list with a year of simulated daily bars and the latest close."""
    calendar = get_calendar()
    last_session = calendar.last_completed_session(now or timezone.now())
    listings = read_listings()
    tickers = [listing.ticker for listing in listings]
    if not force and _has_bars_through(tickers, last_session):
        return SampleLoad(stocks=len(listings), bars=0, up_to_date=True)

    provider = SimulatedProvider(calendar)
    first_day = last_session - timedelta(days=HISTORY_DAYS - 1)
    bars, quotes = [], []
    for ticker in tickers:
        history = provider.history(ticker, last_session)
        bars.extend(bar for bar in history if bar.date >= first_day)
        quotes.append(quote_from_bars(ticker, history, calendar))
    with transaction.atomic():
        ingest.upsert_listings(listings=listings)
        ingest.ingest_bars(bars=bars)
        ingest.ingest_quotes(quotes=quotes)
    return SampleLoad(stocks=len(listings), bars=len(bars), up_to_date=False)


def _has_bars_through(tickers: list[str], day) -> bool:
    return PriceBar.objects.filter(stock__ticker__in=tickers, date=day).count() == len(tickers)


# --- synthetic stocks for benchmarks ------------------------------------------------------

_PREFIXES = (
    "Apex Arbor Atlas Aurora Beacon Birch Blue Bright Cardinal Cascade Cedar Summit Coastal "
    "Cobalt Crescent Crystal Delta Eagle Emerald Evergreen Falcon Frontier Golden Granite "
    "Harbor Horizon Iron Jade Keystone Lakeshore Liberty Lunar Maple Meridian Metro Midland "
    "Monarch Noble North Northern Oak Orion Pacific Peak Pine Pioneer Polar Prairie Quantum "
    "Radiant Redwood Ridge River Rock Sable Sapphire Sierra Silver Solar Southern Sterling "
    "Stone Sun Terra Titan Trident Union Valley Vanguard Vertex Vista Western Willow Zenith"
).split()
_CORES = (
    "Analytics Biotech Brands Capital Chemicals Cloud Communications Consumer Data Devices "
    "Dynamics Energy Engineering Financial Foods Genomics Health Industries Infrastructure "
    "Instruments Logistics Materials Media Medical Metals Mining Motors Networks Pharma "
    "Power Realty Resources Retail Robotics Semiconductor Software Systems Telecom "
    "Therapeutics Transport Utilities Water Wireless"
).split()
_SUFFIXES = ("Inc", "Corp", "Holdings", "Group", "Ltd", "Co", "Partners", "Technologies")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def synthetic_listings(count: int, taken: set[str]) -> list[Listing]:
    """``count`` made-up companies with unique 3-5 letter tickers, the same every time."""
    rng = random.Random(seed_for("synthetic"))
    sectors = _industries_by_sector()
    sector_names = sorted(sectors)
    seen = set(taken)
    listings = []
    while len(listings) < count:
        ticker = "".join(rng.choice(_LETTERS) for _ in range(rng.choice((3, 4, 4, 5))))
        if ticker in seen:
            continue
        seen.add(ticker)
        sector = rng.choice(sector_names)
        name = f"{rng.choice(_PREFIXES)} {rng.choice(_CORES)} {rng.choice(_SUFFIXES)}"
        listings.append(
            Listing(
                ticker=ticker,
                name=name,
                exchange=rng.choice(("NYSE", "NASDAQ", "NASDAQ")),
                sector=sector,
                industry=rng.choice(sectors[sector]),
                country="United States",
                currency="USD",
            )
        )
    return listings


def _industries_by_sector() -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for listing in read_listings():
        found.setdefault(listing.sector, set()).add(listing.industry)
    return {sector: sorted(industries) for sector, industries in found.items()}


def load_synthetic(*, count: int, now: datetime | None = None) -> int:
    """
    Add ``count`` synthetic stocks with a quote and indicators (no stored bars: the
    benchmark exercises the screen, not the charts). Idempotent like the sample.
    """
    calendar = get_calendar()
    last_session = calendar.last_completed_session(now or timezone.now())
    quote_time = calendar.session(last_session)[1]
    taken = {listing.ticker for listing in read_listings()}
    listings = synthetic_listings(count, taken)
    stocks = [_synthetic_stock(listing, quote_time, last_session) for listing in listings]
    with transaction.atomic():
        ingest.upsert_listings(listings=listings)
        ingest.store_snapshots(stocks=stocks)
    return len(stocks)


def _synthetic_stock(listing: Listing, quote_time: datetime, last_session) -> Stock:
    profile = Profile.for_ticker(listing.ticker)
    walk = random_walk(listing.ticker, SYNTHETIC_WALK_DAYS, last_session, profile)
    price, previous = walk.closes[-1], walk.closes[-2]
    values = ingest.compute_indicators(walk.closes, walk.highs, walk.lows, walk.volumes)
    return Stock(
        ticker=listing.ticker,
        price=ingest.quantize(price),
        previous_close=ingest.quantize(previous),
        open=ingest.quantize(walk.opens[-1]),
        day_high=ingest.quantize(walk.highs[-1]),
        day_low=ingest.quantize(walk.lows[-1]),
        change=ingest.quantize(price - previous),
        change_percent=round((price - previous) / previous * 100, 4),
        volume=walk.volumes[-1],
        quote_time=quote_time,
        market_cap=int(price * profile.shares_outstanding),
        pe_ratio=round(price / profile.eps, 2) if profile.eps > 0.05 else None,
        eps=ingest.quantize(profile.eps),
        dividend_yield=round(profile.dividend_yield, 2),
        beta=round(profile.beta, 2),
        **values,
    )
