"""
Ingest benchmark: `python -m bench.ingest [--stocks N] [--rounds N]`.

On the database DATABASE_URL names (a database of its own: `stockscanner_bench_ingest`, or
bench/results/bench-ingest.sqlite3), with N stocks (default 10 000):

1. a full-market quote refresh (one quote per stock) through ``ingest_quotes``, next to a
   naive per-row loop (``Stock.objects.get`` + field updates + ``save()`` per quote);
2. 100 000 daily bars (10 new days of N stocks) through ``ingest_bars`` (which also
   recomputes the indicators of those stocks), next to a per-row ``update_or_create``;
3. provider response to served: a Massive full-market snapshot body (JSON, N tickers)
   parsed, filtered, validated and ingested, the data version bumped and the screen
   snapshot published, until an in-process GET /api/stocks/ answers from the new data.

The naive loops run on a tenth of the rows (1 000 quotes, 10 000 bars: minutes otherwise)
and are scaled up linearly, which favours them (no growing table). Rounds are interleaved
(ours, naive, ours, ...) and medians are reported with the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.common import RESULTS

NAIVE_SHARE = 10  # the naive loops time one row in NAIVE_SHARE


class _Clock:
    """
    Quote times inside the last completed regular session, a second apart on each call:
    every quote is newer than every stored one (an older quote is skipped, and would time
    nothing), and a Massive snapshot stamped then is read as a live trade at any hour the
    bench runs (stamped after the close it would be read as the session's close, older
    than the quotes stored before it).
    """

    def __init__(self) -> None:
        from stocks.market_calendar import get_calendar

        calendar = get_calendar()
        opened = calendar.session(calendar.last_completed_session(datetime.now(UTC)))[0]
        self._next = opened.astimezone(UTC) + timedelta(minutes=30)

    def __call__(self) -> datetime:
        self._next += timedelta(seconds=1)
        return self._next


_clock: _Clock | None = None


def _now() -> datetime:
    global _clock
    _clock = _clock or _Clock()
    return _clock()


def _setup(stocks: int):
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("BENCH_SQLITE", str(RESULTS / "bench-ingest.sqlite3"))
    os.environ.setdefault("BENCH_DB_NAME", "stockscanner_bench_ingest")
    django.setup()
    from django.db import connection

    from bench.common import create_and_migrate

    create_and_migrate()
    from stocks.models import PriceBar, Stock
    from stocks.providers.base import Listing
    from stocks.services.ingest import upsert_listings

    PriceBar.objects.all().delete()
    Stock.objects.all().delete()
    tickers = [f"B{n:05d}" for n in range(stocks)]
    upsert_listings(listings=[Listing(t, f"Bench {t} Corp", "NYSE", "Utilities") for t in tickers])
    return tickers, connection.vendor


def _quotes(tickers, round_no: int):
    from stocks.providers.base import Quote

    at = _now()
    return [
        Quote(
            ticker=t,
            price=Decimal(f"{50 + (i + round_no) % 400}.{round_no % 100:02d}"),
            quote_time=at,
            previous_close=Decimal("50.00"),
            open=Decimal("49.50"),
            day_high=Decimal("460.00"),
            day_low=Decimal("10.00"),
            volume=1000 + i,
        )
        for i, t in enumerate(tickers)
    ]


def _naive_quotes(quotes) -> None:
    from stocks.models import Stock

    for quote in quotes:
        stock = Stock.objects.get(ticker=quote.ticker)
        stock.price, stock.quote_time = quote.price, quote.quote_time
        stock.previous_close, stock.open = quote.previous_close, quote.open
        stock.day_high, stock.day_low, stock.volume = quote.day_high, quote.day_low, quote.volume
        stock.change = quote.price - quote.previous_close
        stock.change_percent = float(stock.change / quote.previous_close * 100)
        stock.save()


def _bars(tickers, days):
    from stocks.providers.base import Bar

    return [
        Bar(
            t,
            day,
            Decimal("10.00"),
            Decimal("12.00"),
            Decimal("9.00"),
            Decimal(f"{10 + i % 2}.50"),
            1000,
        )
        for i, day in enumerate(days)
        for t in tickers
    ]


def _naive_bars(bars) -> None:
    from stocks.models import PriceBar, Stock

    ids = dict(Stock.objects.values_list("ticker", "id"))
    for bar in bars:
        PriceBar.objects.update_or_create(
            stock_id=ids[bar.ticker],
            date=bar.date,
            defaults={
                "open": bar.open, "high": bar.high, "low": bar.low,
                "close": bar.close, "volume": bar.volume,
            },
        )  # fmt: skip


def _snapshot_body(tickers, round_no: int) -> bytes:
    updated = int(_now().timestamp()) * 10**9
    return json.dumps(
        {
            "status": "OK",
            "count": len(tickers),
            "tickers": [
                {
                    "ticker": t,
                    "todaysChange": 0.5,
                    "todaysChangePerc": 1.0,
                    "updated": updated,
                    "day": {"o": 50.0, "h": 470.0, "l": 10.0, "c": 60.0, "v": 12345, "vw": 55.0},
                    "lastTrade": {
                        "p": 60 + (i + round_no) % 400 + 0.25,
                        "s": 100,
                        "t": updated,
                        "x": 4,
                    },
                    "min": {"c": 60.0, "o": 60.0, "h": 60.0, "l": 60.0, "v": 10, "t": 0},
                    "prevDay": {"c": 50.0, "o": 49.0, "h": 51.0, "l": 48.0, "v": 10000, "vw": 50.0},
                }
                for i, t in enumerate(tickers)
            ],
        }
    ).encode()


def _response_to_served(tickers, round_no: int) -> float:
    """Seconds from the provider's body to GET /api/stocks/ answering the new data."""
    from django.test import Client

    from stocks.providers.massive import snapshot_quote
    from stocks.tasks import _known, _store

    body = _snapshot_body(tickers, round_no)
    expected = 60 + (0 + round_no) % 400 + 0.25  # the first ticker's new price
    started = time.perf_counter()
    rows = json.loads(body)["tickers"]
    quotes = [q for row in rows if (q := snapshot_quote(row))]
    _store("quotes", _known(quotes, set(tickers)))  # validate, ingest, bump, publish on commit
    response = Client().get("/api/stocks/?ordering=ticker&page_size=1")
    elapsed = time.perf_counter() - started
    price = response.json()["results"][0]["price"]
    assert abs(float(price) - expected) < 0.001, (price, expected)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stocks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tickers, vendor = _setup(args.stocks)
    from django.conf import settings

    from stocks.market_calendar import get_calendar
    from stocks.services.ingest import ingest_bars, ingest_quotes

    calendar = get_calendar()
    today = datetime.now(UTC).date()
    all_days = calendar.trading_days(
        today - timedelta(days=30 * (args.rounds + 1) + 60), today - timedelta(days=1)
    )
    naive_tickers = tickers[: len(tickers) // NAIVE_SHARE]
    timings: dict[str, list[float]] = {
        k: [] for k in ("quotes", "quotes naive", "bars", "bars naive", "served")
    }

    for round_no in range(args.rounds):
        quotes = _quotes(tickers, round_no)
        started = time.perf_counter()
        ingest_quotes(quotes=quotes)
        timings["quotes"].append(time.perf_counter() - started)

        started = time.perf_counter()
        _naive_quotes(_quotes(naive_tickers, round_no + 1000))
        timings["quotes naive"].append((time.perf_counter() - started) * NAIVE_SHARE)

        days = all_days[round_no * 20 : round_no * 20 + 10]
        started = time.perf_counter()
        ingest_bars(bars=_bars(tickers, days))
        timings["bars"].append(time.perf_counter() - started)

        naive_days = all_days[round_no * 20 + 10 : round_no * 20 + 20]
        started = time.perf_counter()
        _naive_bars(_bars(naive_tickers, naive_days))
        timings["bars naive"].append((time.perf_counter() - started) * NAIVE_SHARE)

        timings["served"].append(_response_to_served(tickers, round_no))
        print(
            f"round {round_no + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in timings.items()),
            file=sys.stderr,
        )

    median = {k: statistics.median(v) for k, v in timings.items()}
    report = {
        "vendor": vendor,
        "stocks": args.stocks,
        "bars": args.stocks * 10,
        "rounds": args.rounds,
        "snapshot_shared": settings.SCREEN_SNAPSHOT_SHARED,
        "median_seconds": median,
        "ratio_quotes": median["quotes naive"] / median["quotes"],
        "ratio_bars": median["bars naive"] / median["bars"],
    }
    print(f"{vendor}, {args.stocks} stocks, median of {args.rounds} interleaved rounds")
    print(
        f"  quote refresh ({args.stocks} quotes): ingest {median['quotes']:.2f}s, per-row save() "
        f"{median['quotes naive']:.1f}s -> {report['ratio_quotes']:.0f}x"
    )
    print(
        f"  daily bars ({args.stocks * 10} bars): ingest {median['bars']:.2f}s (with indicators), "
        f"per-row update_or_create {median['bars naive']:.1f}s -> {report['ratio_bars']:.0f}x"
    )
    print(f"  provider response -> served ({args.stocks} quotes): {median['served']:.2f}s")
    (RESULTS / f"ingest-{vendor}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
