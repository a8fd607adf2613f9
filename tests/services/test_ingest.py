"""The ingest service: listings, daily bars and quotes into the database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from stocks import data_version, indicators
from stocks.models import PriceBar, SearchTerm, Stock
from stocks.nyse import nyse_holidays
from stocks.providers.base import Bar, Listing, Quote
from stocks.services.ingest import (
    IngestRejected,
    compute_indicators,
    ingest_bars,
    ingest_quotes,
    quantize,
    upsert_listings,
    validate_bars,
    validate_quotes,
)

pytestmark = pytest.mark.django_db

LISTINGS = [
    Listing("AAPL", "Apple Inc.", "NASDAQ", "Information Technology", "Hardware", "United States"),
    Listing("BRK.B", "Berkshire Hathaway", "NYSE", "Financials", "Insurance", "United States"),
    Listing(
        "EL", "Estée Lauder Companies", "NYSE", "Consumer Staples", "Personal", "United States"
    ),
]


def stock_rows() -> list[dict]:
    return list(Stock.objects.order_by("ticker").values())


def term_rows() -> list[tuple]:
    return list(
        SearchTerm.objects.order_by("stock__ticker", "term").values_list(
            "id", "stock__ticker", "term"
        )
    )


def bar_rows() -> list[dict]:
    return list(PriceBar.objects.order_by("stock_id", "date").values())


def terms_of(ticker: str) -> set[str]:
    return set(SearchTerm.objects.filter(stock__ticker=ticker).values_list("term", flat=True))


# --- listings -----------------------------------------------------------------------------


def test_upsert_listings__creates_stocks_and_search_terms():
    """New listings become active stocks with their reference data and name words."""
    result = upsert_listings(listings=LISTINGS)

    assert (result.rows, result.stocks, result.created) == (3, 3, 3)
    assert sorted(result.tickers) == ["AAPL", "BRK.B", "EL"]
    apple = Stock.objects.get(ticker="AAPL")
    assert (apple.name, apple.exchange, apple.sector, apple.industry, apple.country) == (
        "Apple Inc.",
        "NASDAQ",
        "Information Technology",
        "Hardware",
        "United States",
    )
    assert apple.currency == "USD"
    assert apple.is_active
    assert apple.price is None and apple.quote_time is None
    assert terms_of("AAPL") == {"apple", "inc"}
    assert terms_of("EL") == {"estee", "lauder", "companies"}


def test_upsert_listings__normalises_tickers_and_trims_text():
    """BRK-B is stored as BRK.B; surrounding spaces are dropped."""
    upsert_listings(listings=[Listing(" brk-b ", "  Berkshire Hathaway  ", " NYSE ")])
    stock = Stock.objects.get()
    assert (stock.ticker, stock.name, stock.exchange) == ("BRK.B", "Berkshire Hathaway", "NYSE")


def test_upsert_listings__idempotent():
    """The same listings twice: no row changes, nothing created the second time."""
    upsert_listings(listings=LISTINGS)
    stocks, terms = stock_rows(), term_rows()

    result = upsert_listings(listings=LISTINGS)

    assert result.created == 0
    assert stock_rows() == stocks
    assert term_rows() == terms


def test_upsert_listings__updates_reference_data_but_not_quotes(stock_factory):
    """A listing update changes reference data and keeps the stock's quote and indicators."""
    stock = stock_factory(ticker="AAPL", name="Apple Inc.", sector="Old Sector")
    before = Stock.objects.filter(pk=stock.pk).values().get()

    result = upsert_listings(listings=[LISTINGS[0]])

    after = Stock.objects.filter(pk=stock.pk).values().get()
    assert result.created == 0
    assert after["sector"] == "Information Technology"
    assert after["exchange"] == "NASDAQ"
    unchanged = set(before) - {"sector", "exchange", "industry", "country"}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}


def test_upsert_listings__rename_replaces_search_terms(api):
    """A new name replaces the old name's words: the old name no longer finds the stock."""
    upsert_listings(listings=[Listing("FB", "Facebook Inc")])
    stock_id = Stock.objects.get().pk

    upsert_listings(listings=[Listing("FB", "Meta Platforms Inc")])

    assert Stock.objects.get().pk == stock_id
    assert terms_of("FB") == {"meta", "platforms", "inc"}
    assert api.get("/api/stocks/search/", {"q": "facebook"}).json()["results"] == []
    assert [
        r["ticker"] for r in api.get("/api/stocks/search/", {"q": "meta"}).json()["results"]
    ] == ["FB"]


def test_upsert_listings__rename_leaves_other_stocks_terms():
    """Renaming one stock does not touch the words of another with the same word."""
    upsert_listings(listings=[Listing("AAA", "Alpha Corp"), Listing("BBB", "Beta Corp")])
    upsert_listings(listings=[Listing("AAA", "Gamma Holdings")])
    assert terms_of("AAA") == {"gamma", "holdings"}
    assert terms_of("BBB") == {"beta", "corp"}


@pytest.mark.parametrize(
    "bad",
    [Listing("NOT A TICKER", "Name"), Listing("", "Name"), Listing("OK", "   ")],
)
def test_upsert_listings__rejects_invalid_rows_writes_nothing(bad):
    """An invalid ticker or empty name rejects the whole batch, naming the row."""
    with pytest.raises(IngestRejected) as caught:
        upsert_listings(listings=[*LISTINGS, bad])
    assert [e.index for e in caught.value.errors] == [3]
    assert not Stock.objects.exists()
    assert not SearchTerm.objects.exists()


# --- bars ---------------------------------------------------------------------------------

# A hand-checkable 60-day series from 100: up 2, up 2, down 1, repeated (102, 104, 103, ...).
START = date(2025, 1, 6)


def trading_days(start: date, count: int) -> list[date]:
    """The first ``count`` NYSE trading days from ``start`` (bars on other days are refused)."""
    return [
        day
        for day in (start + timedelta(days=n) for n in range(count * 2))
        if day.weekday() < 5 and day not in nyse_holidays(day.year)
    ][:count]


DAYS = trading_days(START, 61)
DAY_AFTER, DAYS = DAYS[-1], DAYS[:-1]
CLOSES = [100 + 3 * (n // 3) + (2, 4, 3)[n % 3] for n in range(60)]


def series_bars(ticker="ACME") -> list[Bar]:
    return [
        Bar(
            ticker=ticker,
            date=day,
            open=Decimal(close) - Decimal("0.5"),
            high=Decimal(close) + Decimal("1.25"),
            low=Decimal(close) - Decimal("1.75"),
            close=Decimal(close),
            volume=1000 + 10 * n,
        )
        for n, (day, close) in enumerate(zip(DAYS, CLOSES, strict=True))
    ]


@pytest.fixture
def acme(stock_factory):
    """A listed stock with no quote, no bars and no indicators yet."""
    return stock_factory(ticker="ACME", name="Acme Corp", new_listing=True)


def test_ingest_bars__stores_bars(acme):
    """Each bar is stored against its stock, prices to four decimals."""
    result = ingest_bars(bars=series_bars())

    assert (result.rows, result.stocks, result.tickers) == (60, 1, ["ACME"])
    stored = list(PriceBar.objects.filter(stock=acme).order_by("date"))
    assert [b.date for b in stored] == DAYS
    assert stored[0].close == Decimal("102.0000")
    assert stored[0].high == Decimal("103.2500")
    assert stored[-1].volume == 1590


def test_ingest_bars__recomputes_indicators(acme):
    """SMA 20/50, RSI 14, 52-week range and 30-day volume follow stocks.indicators."""
    ingest_bars(bars=series_bars())
    acme.refresh_from_db()

    closes = [float(c) for c in CLOSES]
    # Hand check: the last 20 closes are 20 consecutive steps of the pattern.
    assert acme.sma_20 == Decimal(str(sum(CLOSES[-20:]) / 20)).quantize(Decimal("0.0001"))
    assert acme.sma_20 == quantize(indicators.sma(closes, 20))
    assert acme.sma_50 == quantize(indicators.sma(closes, 50))
    assert acme.sma_200 is None  # 60 bars are not enough
    assert acme.rsi_14 == pytest.approx(round(indicators.rsi(closes, 14), 4))
    assert 0 < acme.rsi_14 < 100
    assert acme.week52_high == Decimal(max(CLOSES)) + Decimal("1.25")
    assert acme.week52_low == Decimal(min(CLOSES)) - Decimal("1.75")
    assert acme.avg_volume_30d == round(sum(1000 + 10 * n for n in range(30, 60)) / 30)
    assert acme.volatility_30d == pytest.approx(round(indicators.volatility(closes, 30), 4))


def test_ingest_bars__indicators_of_decimal_prices_as_computed_from_them(acme):
    """Prices no double holds exactly, read back as doubles: the indicators of the decimals."""
    closes = [
        Decimal("123.4567") + Decimal("0.1") * (n % 7) - Decimal("0.0003") * n for n in range(60)
    ]
    bars = [
        Bar(
            "ACME",
            day,
            close - Decimal("0.1"),
            close + Decimal("0.3333"),
            close - Decimal("0.7777"),
            close,
            1_000 + n,
        )
        for n, (day, close) in enumerate(zip(DAYS[-60:], closes, strict=True))
    ]
    ingest_bars(bars=bars)

    expected = compute_indicators(
        [float(b.close) for b in bars],
        [float(b.high) for b in bars],
        [float(b.low) for b in bars],
        [float(b.volume) for b in bars],
    )
    stored = Stock.objects.values(*expected).get(ticker="ACME")
    assert stored == expected


def test_ingest_bars__rsi_hand_checked(acme):
    """Fifteen closes rising by 1 have no losses: RSI 100; the series then falls: RSI < 50."""
    bars = [
        Bar("ACME", day, Decimal(100 + n), Decimal(101 + n), Decimal(99 + n), Decimal(100 + n), 1)
        for n, day in enumerate(DAYS[:15])
    ]
    ingest_bars(bars=bars)
    acme.refresh_from_db()
    assert acme.rsi_14 == 100.0
    assert acme.sma_20 is None


def test_ingest_bars__idempotent(acme):
    """The same bars twice leave the same rows (same ids, same values)."""
    ingest_bars(bars=series_bars())
    bars, stocks = bar_rows(), stock_rows()

    ingest_bars(bars=series_bars())

    assert bar_rows() == bars
    assert stock_rows() == stocks


def test_ingest_bars__corrected_bar_replaces_stored_one(acme):
    """A bar for a stored date updates that row and the indicators built on it."""
    ingest_bars(bars=series_bars())
    count = PriceBar.objects.count()
    last = series_bars()[-1]
    fixed = Bar(
        "ACME", last.date, Decimal("500"), Decimal("510"), Decimal("490"), Decimal("505"), 7
    )

    ingest_bars(bars=[fixed])

    assert PriceBar.objects.count() == count
    stored = PriceBar.objects.get(stock=acme, date=last.date)
    assert (stored.close, stored.volume) == (Decimal("505.0000"), 7)
    acme.refresh_from_db()
    assert acme.week52_high == Decimal("510.0000")
    assert acme.sma_20 == quantize(indicators.sma([float(c) for c in CLOSES[:-1]] + [505.0], 20))


def test_ingest_bars__share_class_spelling(stock_factory):
    """Bars for BRK-B land on BRK.B."""
    stock = stock_factory(ticker="BRK.B")
    ingest_bars(bars=series_bars("brk-b")[:3])
    assert PriceBar.objects.filter(stock=stock).count() == 3


def test_ingest_bars__several_stocks_each_get_their_indicators(acme, stock_factory):
    """Indicators are computed per stock, not across the batch."""
    other = stock_factory(ticker="OTHR", sma_20=None)
    flat = [
        Bar("OTHR", day, Decimal("10"), Decimal("10"), Decimal("10"), Decimal("10"), 5)
        for day in DAYS[-25:]
    ]
    ingest_bars(bars=[*series_bars(), *flat])
    acme.refresh_from_db()
    other.refresh_from_db()
    assert other.sma_20 == Decimal("10.0000")
    assert other.rsi_14 == 50.0  # a flat series
    assert acme.sma_20 == quantize(indicators.sma([float(c) for c in CLOSES], 20))


# Changes that make a good bar (ACME, the day after the series, 10/11/9/10, 100) invalid.
BAD_CHANGES = {
    "high_below_low": {"high": "8", "low": "9", "open": "8.5", "close": "8.5"},
    "high_below_close": {"close": "12"},
    "negative_volume": {"volume": -1},
    "zero_price": {"low": "0"},
    "unknown_ticker": {"ticker": "NOPE"},
    "invalid_ticker": {"ticker": "NOT A TICKER"},
}
BAD_KINDS = list(BAD_CHANGES)


def _bad(kind: str) -> Bar:
    fields = {"ticker": "ACME", "date": DAY_AFTER, "open": "10",
              "high": "11", "low": "9", "close": "10", "volume": 100}  # fmt: skip
    fields.update(BAD_CHANGES[kind])
    for price in ("open", "high", "low", "close"):
        fields[price] = Decimal(fields[price])
    return Bar(**fields)


@pytest.mark.parametrize("kind", BAD_KINDS)
@pytest.mark.parametrize("position", ["first", "last"])
def test_ingest_bars__bad_row_rejects_everything(acme, kind, position):
    """One bad row, first or last, rejects the batch with its index; nothing is written."""
    good = series_bars()
    bars = [_bad(kind), *good] if position == "first" else [*good, _bad(kind)]
    before = stock_rows()

    with pytest.raises(IngestRejected) as caught:
        ingest_bars(bars=bars)

    assert [e.index for e in caught.value.errors] == [0 if position == "first" else len(good)]
    assert caught.value.errors[0].message
    assert not PriceBar.objects.exists()
    assert stock_rows() == before


def test_ingest_bars__lists_every_bad_row(acme):
    """Every bad row is reported, in input order."""
    good = series_bars()
    bars = [
        good[0],
        _bad("negative_volume"),
        good[1],
        _bad("unknown_ticker"),
        _bad("high_below_low"),
    ]
    with pytest.raises(IngestRejected) as caught:
        ingest_bars(bars=bars)
    assert [e.index for e in caught.value.errors] == [1, 3, 4]
    assert "3 invalid row(s)" in str(caught.value)
    assert "unknown ticker" in caught.value.errors[1].message


def test_ingest_bars__a_ticker_repeated_is_judged_on_each_row(acme):
    """Tickers are read once per batch: a bad one is still reported on every row it is on."""
    good = series_bars()
    bars = [_bad("invalid_ticker"), good[0], _bad("invalid_ticker"), good[1]]
    bars[3] = dataclasses.replace(bars[3], ticker=" acme ")  # another spelling, valid

    errors = validate_bars(bars=bars)
    assert [e.index for e in errors] == [0, 2]
    assert all("NOT A TICKER" in e.message for e in errors)

    ingest_bars(bars=[good[0], bars[3]])
    assert PriceBar.objects.filter(stock__ticker="ACME").count() == 2


def test_ingest_bars__rejection_keeps_existing_bars(acme):
    """A rejected batch leaves earlier bars and indicators exactly as they were."""
    ingest_bars(bars=series_bars())
    bars, stocks = bar_rows(), stock_rows()
    changed = [
        Bar(b.ticker, b.date, b.open, b.high, b.low, b.close + 1, b.volume)
        for b in series_bars()[-5:]
    ]

    with pytest.raises(IngestRejected):
        ingest_bars(bars=[*changed, _bad("high_below_low")])

    assert bar_rows() == bars
    assert stock_rows() == stocks


# --- quotes -------------------------------------------------------------------------------

QUOTE_TIME = datetime(2025, 6, 2, 20, 0, tzinfo=UTC)


def quote(ticker="ACME", price="105.50", previous_close="100", at=QUOTE_TIME, **extra) -> Quote:
    return Quote(
        ticker=ticker,
        price=Decimal(price),
        previous_close=None if previous_close is None else Decimal(previous_close),
        quote_time=at,
        **extra,
    )


def test_ingest_quotes__derives_change(acme):
    """change = price - previous close; change % relative to the previous close."""
    result = ingest_quotes(
        quotes=[
            quote(
                volume=12345,
                market_cap=5_000_000_000,
                pe_ratio=21.5,
                day_high=Decimal("106"),
                day_low=Decimal("99.5"),
            )
        ]
    )

    assert (result.rows, result.stocks) == (1, 1)
    acme.refresh_from_db()
    assert acme.price == Decimal("105.5000")
    assert acme.previous_close == Decimal("100.0000")
    assert acme.change == Decimal("5.5000")
    assert acme.change_percent == 5.5
    assert acme.quote_time == QUOTE_TIME
    assert (acme.volume, acme.market_cap, acme.pe_ratio) == (12345, 5_000_000_000, 21.5)
    assert (acme.day_high, acme.day_low) == (Decimal("106.0000"), Decimal("99.5000"))


def test_ingest_quotes__change_percent_rounded(acme):
    """A fall of 1/3 is -33.3333 %."""
    ingest_quotes(quotes=[quote(price="2", previous_close="3")])
    acme.refresh_from_db()
    assert acme.change == Decimal("-1.0000")
    assert acme.change_percent == -33.3333


def test_ingest_quotes__no_previous_close_no_change(acme):
    """Without a previous close, change and change % are unknown."""
    ingest_quotes(quotes=[quote(previous_close=None)])
    acme.refresh_from_db()
    assert acme.change is None
    assert acme.change_percent is None


def test_ingest_quotes__older_quote_ignored(acme):
    """A quote older than the stored one does not replace it."""
    ingest_quotes(quotes=[quote(price="110")])
    before = stock_rows()

    ingest_quotes(quotes=[quote(price="90", at=QUOTE_TIME - timedelta(minutes=5))])

    assert stock_rows() == before


def test_ingest_quotes__newer_quote_replaces(acme):
    """A later quote replaces the stored one."""
    ingest_quotes(quotes=[quote(price="110")])
    ingest_quotes(quotes=[quote(price="90", at=QUOTE_TIME + timedelta(minutes=5))])
    acme.refresh_from_db()
    assert acme.price == Decimal("90.0000")
    assert acme.quote_time == QUOTE_TIME + timedelta(minutes=5)


def test_ingest_quotes__newest_of_a_batch_wins(acme):
    """Two quotes of one stock in a batch: the newer is kept, whatever the order."""
    ingest_quotes(
        quotes=[
            quote(price="120", at=QUOTE_TIME + timedelta(minutes=1)),
            quote(price="110", at=QUOTE_TIME),
        ]
    )
    acme.refresh_from_db()
    assert acme.price == Decimal("120.0000")


def test_ingest_quotes__unknown_ticker_rejected(acme):
    """A quote for a stock that is not listed rejects the batch; nothing is written."""
    before = stock_rows()
    with pytest.raises(IngestRejected) as caught:
        ingest_quotes(quotes=[quote(), quote(ticker="NOPE")])
    assert [(e.index, e.message) for e in caught.value.errors] == [(1, "NOPE: unknown ticker")]
    assert stock_rows() == before


@pytest.mark.parametrize(
    "bad",
    [
        quote(price="0"),
        quote(price="-1"),
        quote(previous_close="0"),
        quote(day_high=Decimal("1"), day_low=Decimal("2")),
        quote(volume=-5),
        quote(at=datetime(2025, 6, 2, 20, 0)),  # naive
        quote(ticker="bad ticker"),
    ],
)
def test_ingest_quotes__invalid_quote_rejected(acme, bad):
    """Non-positive prices, inverted day range, negative volume, naive time: rejected."""
    before = stock_rows()
    with pytest.raises(IngestRejected) as caught:
        ingest_quotes(quotes=[bad])
    assert [e.index for e in caught.value.errors] == [0]
    assert stock_rows() == before


# --- data version -------------------------------------------------------------------------


def test_data_version__moves_after_each_ingest_commits(acme, django_capture_on_commit_callbacks):
    """Each successful ingest moves the data version when it commits."""
    seen = [data_version.current()]
    for ingest in (
        lambda: ingest_bars(bars=series_bars()),
        lambda: ingest_quotes(quotes=[quote()]),
        lambda: upsert_listings(listings=LISTINGS),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            ingest()
        seen.append(data_version.current())
    assert seen == sorted(set(seen))


def test_data_version__batches_of_one_ingest_move_it_once(
    acme, django_capture_on_commit_callbacks, monkeypatch
):
    """An ingest written in many batches registers one bump, not one per batch."""
    from stocks.services import ingest as ingest_module

    monkeypatch.setattr(ingest_module, "BATCH_SIZE", 1)
    start = data_version.current()
    with django_capture_on_commit_callbacks(execute=True):
        ingest_bars(bars=series_bars())
    assert data_version.current() == start + 1


def test_data_version__not_bumped_before_commit(acme, django_capture_on_commit_callbacks):
    """The bump waits for the commit: readers never see a new version with old data."""
    start = data_version.current()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ingest_bars(bars=series_bars())
        assert data_version.current() == start
    assert callbacks
    assert data_version.current() == start


@pytest.mark.parametrize(
    "ingest",
    [
        lambda: ingest_bars(bars=[_bad("high_below_low")]),
        lambda: ingest_quotes(quotes=[quote(ticker="NOPE")]),
        lambda: upsert_listings(listings=[Listing("", "No Ticker")]),
    ],
    ids=["bars", "quotes", "listings"],
)
def test_data_version__not_bumped_on_rejection(acme, django_capture_on_commit_callbacks, ingest):
    """A rejected ingest leaves the data version alone."""
    start = data_version.current()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(IngestRejected),
    ):
        ingest()
    assert callbacks == []
    assert data_version.current() == start


def test_ingest_quotes__bad_time_next_to_good_quote_of_same_stock_rejected(acme):
    """A naive or missing quote time beside a good quote of the same stock is a row error."""
    before = stock_rows()
    with pytest.raises(IngestRejected) as caught:
        ingest_quotes(
            quotes=[
                quote(),
                quote(at=datetime(2025, 6, 2, 21, 0)),
                quote(at=None),
            ]
        )
    assert [e.index for e in caught.value.errors] == [1, 2]
    assert stock_rows() == before


def test_ingest_bars__indicators_of_a_stock_whose_bars_end_earlier(acme, stock_factory):
    """A stock whose history ended long before another's in the batch still gets indicators."""
    delisted = stock_factory(ticker="GONE", sma_20=None, sma_50=None, rsi_14=None)
    early = [
        Bar("GONE", day, b.open, b.high, b.low, b.close, b.volume)
        for day, b in zip(trading_days(START - timedelta(days=800), 60), series_bars(), strict=True)
    ]

    ingest_bars(bars=[*series_bars(), *early])

    delisted.refresh_from_db()
    acme.refresh_from_db()
    assert (
        delisted.sma_20 == acme.sma_20 == quantize(indicators.sma([float(c) for c in CLOSES], 20))
    )
    assert delisted.sma_50 == acme.sma_50
    assert delisted.rsi_14 == acme.rsi_14


# --- what cannot be stored, and what a quote leaves out -------------------------------------


def _bar(day: date, **changes) -> Bar:
    fields = {"ticker": "ACME", "date": day, "open": Decimal("10"), "high": Decimal("11"),
              "low": Decimal("9"), "close": Decimal("10"), "volume": 100}  # fmt: skip
    fields.update(changes)
    return Bar(**fields)


@pytest.mark.parametrize(
    ("bar", "message"),
    [
        (_bar(date(2025, 1, 11)), "not a trading day"),  # a Saturday
        (_bar(date(2025, 7, 4)), "not a trading day"),  # Independence Day
        (_bar(date(2099, 1, 2)), "after today"),
        (_bar(DAY_AFTER, high=Decimal("1e14"), close=Decimal("99")), "high 1E+14 is too large"),
        (_bar(DAY_AFTER, close=Decimal("NaN")), "close must be a positive number"),
        (_bar(DAY_AFTER, volume=2**63), "too large"),
    ],
    ids=["weekend", "holiday", "future", "huge_price", "nan", "huge_volume"],
)
def test_ingest_bars__unstorable_bar_rejected(acme, bar, message):
    """A bar off the calendar, in the future, or beyond the columns is a row error, not a crash."""
    with pytest.raises(IngestRejected) as caught:
        ingest_bars(bars=[*series_bars(), bar])
    assert [e.index for e in caught.value.errors] == [len(DAYS)]
    assert message in caught.value.errors[0].message
    assert not PriceBar.objects.exists()


def test_validate_bars__reports_every_row_and_writes_nothing(acme):
    """validate_bars lists the same errors ingest would raise, without writing."""
    errors = validate_bars(
        bars=[_bar(date(2025, 1, 11)), *series_bars()[:2], _bar(DAY_AFTER, ticker="NOPE")]
    )
    assert [e.index for e in errors] == [0, 3]
    assert not PriceBar.objects.exists()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (quote(at=timezone.now() + timedelta(hours=1)), "in the future"),
        (quote(market_cap=2**63), "market_cap"),
        (quote(beta=float("inf")), "beta must be a finite number"),
        (quote(price="1e15"), "price 1E+15 is too large"),
        (quote(eps=Decimal("-1e15")), "eps"),
        (quote(price="0.00004"), "price 0.00004 is zero at four decimals"),
        (quote(price="99999999999999.99995"), "too large"),
    ],
    ids=[
        "future",
        "huge_market_cap",
        "infinite_beta",
        "huge_price",
        "huge_eps",
        "rounds_to_zero",
        "rounds_past_the_column",
    ],
)
def test_ingest_quotes__unstorable_quote_rejected(acme, bad, message):
    """A quote from the future or with values the columns cannot hold is a row error."""
    before = stock_rows()
    with pytest.raises(IngestRejected) as caught:
        ingest_quotes(quotes=[bad])
    assert [e.index for e in caught.value.errors] == [0]
    assert message in caught.value.errors[0].message
    assert stock_rows() == before


def test_ingest_quotes__clock_skew_of_a_minute_accepted(acme):
    """A provider clock a little ahead of ours is not an error."""
    ingest_quotes(quotes=[quote(at=timezone.now() + timedelta(minutes=1))])
    acme.refresh_from_db()
    assert acme.price == Decimal("105.5000")


def test_ingest_quotes__every_row_of_an_unknown_ticker_reported(acme):
    """Two quotes of an unlisted ticker are two row errors."""
    errors = validate_quotes(quotes=[quote(ticker="NOPE"), quote(), quote(ticker="NOPE")])
    assert [(e.index, e.message) for e in errors] == [
        (0, "NOPE: unknown ticker"),
        (2, "NOPE: unknown ticker"),
    ]


NEXT_DAY = datetime(2025, 6, 3, 15, 0, tzinfo=UTC)  # 11:00 in New York


def monday_close() -> Quote:
    """A full closing quote of ACME on Mon 2 June 2025."""
    return quote(
        price="100", previous_close="98", open=Decimal("99"), day_high=Decimal("101"),
        day_low=Decimal("98"), volume=5000, market_cap=10_000_000_000, pe_ratio=20.0,
        eps=Decimal("5"), dividend_yield=1.5, beta=1.2,
    )  # fmt: skip


@pytest.fixture
def quoted(acme):
    """ACME after Monday's closing quote, with Friday's and Monday's bars stored."""
    ingest_bars(
        bars=[
            _bar(date(2025, 5, 30), open=Decimal("97"), high=Decimal("99"), low=Decimal("96"),
                 close=Decimal("98")),
            _bar(date(2025, 6, 2), open=Decimal("99"), high=Decimal("101"), low=Decimal("98"),
                 close=Decimal("100")),
        ]
    )  # fmt: skip
    ingest_quotes(quotes=[monday_close()])
    acme.refresh_from_db()
    return acme


def test_ingest_quotes__bare_quote_next_day_keeps_and_rescales_fundamentals(quoted):
    """Only ticker, price and time: fundamentals are kept (rescaled to the price), not erased."""
    ingest_quotes(quotes=[quote(price="110", previous_close=None, at=NEXT_DAY)])
    quoted.refresh_from_db()

    assert quoted.price == Decimal("110.0000")
    assert quoted.market_cap == 11_000_000_000  # shares outstanding unchanged
    assert quoted.dividend_yield == 1.3636  # dividend per share unchanged: 1.5 / 1.1
    assert (quoted.eps, quoted.pe_ratio, quoted.beta) == (Decimal("5.0000"), 22.0, 1.2)
    # A new session: yesterday's day range and volume do not describe it.
    assert (quoted.open, quoted.day_high, quoted.day_low, quoted.volume) == (None,) * 4
    # The previous close is Monday's closing quote.
    assert quoted.previous_close == Decimal("100.0000")
    assert (quoted.change, quoted.change_percent) == (Decimal("10.0000"), 10.0)


def test_ingest_quotes__bare_quote_same_session_keeps_the_day(quoted):
    """A later quote of the same day without the day's fields keeps them."""
    ingest_quotes(
        quotes=[quote(price="101", previous_close=None, at=QUOTE_TIME + timedelta(minutes=1))]
    )
    quoted.refresh_from_db()

    assert (quoted.open, quoted.day_high, quoted.day_low, quoted.volume) == (
        Decimal("99.0000"), Decimal("101.0000"), Decimal("98.0000"), 5000,
    )  # fmt: skip
    assert quoted.previous_close == Decimal("98.0000")
    assert quoted.change_percent == 3.0612


def test_ingest_quotes__given_fields_win(quoted):
    """Whatever the quote does carry replaces the stored (or derived) value."""
    ingest_quotes(
        quotes=[
            quote(
                price="110", previous_close="95", at=NEXT_DAY, open=Decimal("96"),
                day_high=Decimal("111"), day_low=Decimal("95.5"), volume=700,
                market_cap=12_000_000_000, pe_ratio=30.0, eps=Decimal("-1"),
                dividend_yield=2.0, beta=0.9,
            )
        ]
    )  # fmt: skip
    quoted.refresh_from_db()
    assert (quoted.previous_close, quoted.open, quoted.day_high, quoted.day_low) == (
        Decimal("95.0000"), Decimal("96.0000"), Decimal("111.0000"), Decimal("95.5000"),
    )  # fmt: skip
    assert (quoted.volume, quoted.market_cap, quoted.pe_ratio, quoted.eps) == (
        700, 12_000_000_000, 30.0, Decimal("-1.0000"),
    )  # fmt: skip
    assert (quoted.dividend_yield, quoted.beta) == (2.0, 0.9)


def test_ingest_quotes__previous_close_from_the_bars_after_an_intraday_quote(acme):
    """Stored quote taken before Monday's close: Tuesday's previous close is Monday's bar."""
    ingest_bars(bars=[_bar(date(2025, 6, 2), open=Decimal("99"), high=Decimal("102"),
                           low=Decimal("98"), close=Decimal("101"))])  # fmt: skip
    ingest_quotes(
        quotes=[quote(price="100", previous_close="98", at=QUOTE_TIME - timedelta(hours=1))]
    )
    ingest_quotes(quotes=[quote(price="110", previous_close=None, at=NEXT_DAY)])
    acme.refresh_from_db()
    assert (acme.previous_close, acme.change) == (Decimal("101.0000"), Decimal("9.0000"))


def test_ingest_quotes__previous_close_from_the_stored_close_without_bars(acme):
    """No bars at all: Monday's stored closing quote is Tuesday's previous close."""
    ingest_quotes(quotes=[quote(price="100", previous_close="98")])
    ingest_quotes(quotes=[quote(price="110", previous_close=None, at=NEXT_DAY)])
    acme.refresh_from_db()
    assert (acme.previous_close, acme.change_percent) == (Decimal("100.0000"), 10.0)


def test_ingest_quotes__weekend_quote_belongs_to_fridays_session(acme):
    """A quote stamped on Saturday is still Friday's: the day's fields and change stand."""
    friday_close = datetime(2025, 5, 30, 20, 0, tzinfo=UTC)
    ingest_quotes(
        quotes=[
            quote(price="110", previous_close="100", at=friday_close, open=Decimal("101"),
                  day_high=Decimal("111"), day_low=Decimal("100.5"), volume=9000)
        ]
    )  # fmt: skip
    ingest_quotes(
        quotes=[quote(price="110", previous_close=None, at=friday_close + timedelta(days=1))]
    )
    acme.refresh_from_db()
    assert (acme.open, acme.volume, acme.previous_close) == (
        Decimal("101.0000"), 9000, Decimal("100.0000"),
    )  # fmt: skip
    assert acme.change_percent == 10.0


def test_ingest_quotes__pe_rescaled_when_eps_is_unknown(stock_factory):
    """A P/E from a provider that gives no EPS moves with the price (the earnings did not)."""
    stock = stock_factory(ticker="PEX", price=Decimal("100"), pe_ratio=20.0, eps=None,
                          quote_time=QUOTE_TIME)  # fmt: skip
    ingest_quotes(quotes=[quote(ticker="PEX", price="150", previous_close=None, at=NEXT_DAY)])
    stock.refresh_from_db()
    assert stock.pe_ratio == 30.0


def test_ingest_quotes__same_quote_again_writes_nothing(quoted, django_capture_on_commit_callbacks):
    """The same quote fetched twice (a closed market, a retry): no write, no new data version."""
    before = stock_rows()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = ingest_quotes(quotes=[monday_close()])
    assert result.stocks == 0
    assert callbacks == []
    assert stock_rows() == before


def test_ingest_quotes__loss_making_stock_has_no_pe(quoted):
    """A new EPS below zero clears a derived P/E (no P/E for a loss)."""
    ingest_quotes(quotes=[quote(price="110", at=NEXT_DAY, eps=Decimal("-2"))])
    quoted.refresh_from_db()
    assert quoted.pe_ratio is None


def test_ingest_quotes__new_session_without_bars_has_no_change(acme):
    """No previous close given, none stored for the day, no bar: change is unknown."""
    ingest_quotes(quotes=[quote(previous_close=None, at=NEXT_DAY)])
    acme.refresh_from_db()
    assert (acme.previous_close, acme.change, acme.change_percent) == (None, None, None)
