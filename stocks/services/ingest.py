"""
Ingest: the only way market data gets into the database.

Each function validates everything first, then writes in one transaction with bulk
upserts, so a bad row means nothing is written and running the same input twice leaves
the same rows. After a commit the data version is bumped, so cached answers built on the
old data stop being served.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter

from django.db import connection, connections, transaction
from django.db.models import FloatField, Func, Max, Q
from django.utils import timezone

from .. import data_version, indicators
from ..market_calendar import get_calendar
from ..models import PriceBar, SearchTerm, Stock
from ..providers.base import Bar, Listing, Quote
from ..screen import snapshots
from ..search import name_terms
from ..tickers import InvalidTicker, normalize_ticker
from .bulk import upsert, write_columns
from .quotes import QUOTE_FIELDS, apply_quote, needs_previous_close, session_day
from .validation import RowError, check_bar, check_quote, quantize

__all__ = [
    "IngestRejected",
    "IngestResult",
    "RowError",
    "ingest_bars",
    "ingest_quotes",
    "quantize",
    "refresh_indicators",
    "store_snapshots",
    "upsert_listings",
    "validate_bars",
    "validate_quotes",
]

# Bars needed for the longest indicator (52 weeks) plus slack for holidays.
INDICATOR_LOOKBACK_DAYS = 380
# How far back a quote's previous close is looked for among the daily bars.
PREVIOUS_CLOSE_LOOKBACK_DAYS = 14  # longer than any market closure (Sept. 2001: 6 days)
BATCH_SIZE = 2000

LISTING_FIELDS = ["name", "exchange", "sector", "industry", "country", "currency"]
BAR_FIELDS = ["open", "high", "low", "close", "volume"]
INDICATOR_FIELDS = [
    "avg_volume_30d", "week52_high", "week52_low", "sma_20", "sma_50", "sma_200",
    "rsi_14", "volatility_30d",
]  # fmt: skip


class IngestRejected(Exception):
    """The input had invalid rows; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} invalid row(s); nothing was written")


@dataclass
class IngestResult:
    rows: int = 0
    stocks: int = 0
    created: int = 0
    tickers: list[str] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)  # with drop_invalid: left out


def _canonical(index: int, raw: str, errors: list[RowError]) -> str | None:
    try:
        return normalize_ticker(raw)
    except InvalidTicker as exc:
        errors.append(RowError(index, str(exc)))
        return None


def _stock_ids(tickers: Iterable[str]) -> dict[str, int]:
    return dict(Stock.objects.filter(ticker__in=set(tickers)).values_list("ticker", "id"))


def _raise_if(errors: list[RowError]) -> None:
    if errors:
        raise IngestRejected(sorted(errors, key=lambda e: e.index))


def _after_commit() -> None:
    """After the commit: a new data version, and its screen snapshot, built now."""
    data_version.mark_changed()
    transaction.on_commit(snapshots.publish, robust=True)


def _conflict_target(fields: list[str]) -> list[str] | None:
    """
    ``unique_fields`` for an upsert. MySQL/MariaDB's ON DUPLICATE KEY UPDATE takes no
    conflict target (any unique key triggers it) and Django refuses one there.
    """
    return fields if connection.features.supports_update_conflicts_with_target else None


# --- listings ---------------------------------------------------------------------------


@transaction.atomic
def upsert_listings(*, listings: Sequence[Listing]) -> IngestResult:
    """Create or update securities' reference data and their name-search words."""
    _raise_if(validate_listings(listings=listings))
    rows = {normalize_ticker(listing.ticker): listing for listing in listings}

    stored = {
        values["ticker"]: values
        for values in Stock.objects.filter(ticker__in=rows).values("ticker", *LISTING_FIELDS)
    }

    def value(ticker: str, listing: Listing, name: str) -> str:
        given = getattr(listing, name)
        if given is None:  # not said: what is stored stays (a new stock: the field's default)
            return stored[ticker][name] if ticker in stored else _DEFAULTS[name]
        return given.strip()

    wanted = {t: {f: value(t, listing, f) for f in LISTING_FIELDS} for t, listing in rows.items()}
    # Only what changed is written, and the data version moves only then: the daily
    # listing of an unchanged market empties no cache.
    changed = {
        t: v for t, v in wanted.items() if stored.get(t, {"ticker": t}) != {"ticker": t, **v}
    }
    if changed:
        Stock.objects.bulk_create(
            [Stock(ticker=t, **values) for t, values in changed.items()],
            update_conflicts=True,
            unique_fields=_conflict_target(["ticker"]),
            update_fields=LISTING_FIELDS,
            batch_size=BATCH_SIZE,
        )
        ids = _stock_ids(changed)
        _replace_search_terms({ids[t]: rows[t].name for t in changed})
        _after_commit()
    return IngestResult(
        rows=len(listings), stocks=len(rows), created=len(rows) - len(stored), tickers=list(rows)
    )


_DEFAULTS = {name: Stock._meta.get_field(name).get_default() for name in LISTING_FIELDS}


class ListingIncomplete(Exception):
    """A listing that would deactivate too much of the market: nothing was written."""


@dataclass
class ListingSync:
    listed: int = 0
    created: int = 0
    deactivated: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)


@transaction.atomic
def sync_listings(*, listings: Sequence[Listing], max_deactivated_share: float) -> ListingSync:
    """
    Make the stocks table follow a provider's complete listing: new tickers are added,
    listed ones updated and active, active ones no longer listed deactivated (never
    deleted: their bars and history stay). Rows that cannot be stored are left out (the
    caller has logged them). A listing that would deactivate more than
    ``max_deactivated_share`` of the active stocks is refused whole (``ListingIncomplete``):
    a provider's partial answer must not take half the market off the screens.
    """
    bad = {error.index for error in validate_listings(listings=listings)}
    good = [row for index, row in enumerate(listings) if index not in bad]
    listed = {normalize_ticker(row.ticker) for row in good}
    active = set(Stock.objects.active().values_list("ticker", flat=True))
    vanished = sorted(active - listed)
    if active and len(vanished) > max_deactivated_share * len(active):
        raise ListingIncomplete(
            f"the listing has {len(listed)} tickers and would deactivate {len(vanished)} of "
            f"{len(active)} active stocks (more than {max_deactivated_share:.0%}); nothing changed"
        )
    reactivated = sorted(
        Stock.objects.filter(ticker__in=listed, is_active=False).values_list("ticker", flat=True)
    )
    result = upsert_listings(listings=good) if good else IngestResult()
    for batch_start in range(0, max(len(vanished), len(reactivated)), BATCH_SIZE):
        window = slice(batch_start, batch_start + BATCH_SIZE)
        Stock.objects.filter(ticker__in=vanished[window]).update(is_active=False)
        Stock.objects.filter(ticker__in=reactivated[window]).update(is_active=True)
    if vanished or reactivated:
        _after_commit()
    return ListingSync(
        listed=len(listed), created=result.created, deactivated=vanished, reactivated=reactivated
    )


def validate_listings(*, listings: Sequence[Listing]) -> list[RowError]:
    """Every bad row of ``listings``, in input order; writes nothing."""
    errors: list[RowError] = []
    for index, listing in enumerate(listings):
        ticker = _canonical(index, listing.ticker, errors)
        if ticker is not None and not listing.name.strip():
            errors.append(RowError(index, f"{ticker}: name is empty"))
    return errors


def _replace_search_terms(names: dict[int, str]) -> None:
    wanted = {(term, stock_id) for stock_id, name in names.items() for term in name_terms(name)}
    current = set(SearchTerm.objects.filter(stock_id__in=names).values_list("term", "stock_id"))
    stale = current - wanted
    if stale:
        for stock_id in {s for _, s in stale}:
            SearchTerm.objects.filter(
                stock_id=stock_id, term__in=[t for t, s in stale if s == stock_id]
            ).delete()
    SearchTerm.objects.bulk_create(
        [SearchTerm(term=t, stock_id=s) for t, s in sorted(wanted - current)],
        batch_size=BATCH_SIZE,
    )


# --- quotes -----------------------------------------------------------------------------


@dataclass
class _QuoteBatch:
    latest: dict[str, tuple[int, Quote]]  # ticker -> the newest good quote and its index
    stocks: dict[str, Stock]
    errors: list[RowError]


def _check_quotes(quotes: Sequence[Quote], *, lock: bool = False) -> _QuoteBatch:
    now = timezone.now()
    errors: list[RowError] = []
    latest: dict[str, tuple[int, Quote]] = {}
    named: list[tuple[int, str]] = []
    for index, quote in enumerate(quotes):
        ticker = _canonical(index, quote.ticker, errors)
        if ticker is None:
            continue
        named.append((index, ticker))
        if not check_quote(index, quote, errors, now=now):
            continue  # its quote_time may be missing or naive: not comparable with the others
        # Two quotes of one ticker in a batch: the newer wins.
        if ticker not in latest or latest[ticker][1].quote_time <= quote.quote_time:
            latest[ticker] = (index, quote)
    # Whole rows: written back with one upsert per batch (bulk.write_columns).
    rows = Stock.objects.filter(ticker__in={t for _, t in named})
    # In an ingest, locked until the commit: a stock deleted meanwhile cannot be written back.
    stocks = {s.ticker: s for s in (rows.select_for_update() if lock else rows)}
    errors.extend(RowError(i, f"{t}: unknown ticker") for i, t in named if t not in stocks)
    return _QuoteBatch(latest, stocks, sorted(errors, key=lambda e: e.index))


def validate_quotes(*, quotes: Sequence[Quote]) -> list[RowError]:
    """Every bad row of ``quotes``, in input order; writes nothing."""
    return _check_quotes(quotes).errors


def _bar_closes_before(wanted: dict[int, date]) -> dict[int, Decimal]:
    """For each stock id, the close of its last daily bar before the given day."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for stock_id, day in wanted.items():
        by_day[day].append(stock_id)
    closes: dict[int, Decimal] = {}
    for day, ids in by_day.items():
        rows = (
            PriceBar.objects.filter(
                stock_id__in=ids,
                date__lt=day,
                date__gte=day - timedelta(days=PREVIOUS_CLOSE_LOOKBACK_DAYS),
            )
            .order_by("stock_id", "-date")
            .values_list("stock_id", "close")
        )
        for stock_id, close in rows:
            closes.setdefault(stock_id, close)
    return closes


@transaction.atomic
def ingest_quotes(*, quotes: Sequence[Quote], drop_invalid: bool = False) -> IngestResult:
    """
    Store the latest quote of existing stocks (``stocks.services.quotes`` says how fields
    a quote leaves out are kept or derived); change and change % are derived here. A bad
    row rejects the whole input (``IngestRejected``), or with ``drop_invalid`` is left out
    and listed in the result's ``rejected`` (a provider's refresh: one pass, not two).
    """
    batch = _check_quotes(quotes, lock=True)
    if not drop_invalid:
        _raise_if(batch.errors)
    bad = {error.index for error in batch.errors}
    batch.latest = {t: (i, q) for t, (i, q) in batch.latest.items() if i not in bad}

    calendar = get_calendar()
    newer = [
        (batch.stocks[ticker], quote)
        for ticker, (_index, quote) in batch.latest.items()
        # Arrived out of order: never replace a newer quote with an older one.
        if not batch.stocks[ticker].quote_time
        or quote.quote_time >= batch.stocks[ticker].quote_time
    ]
    bar_closes = _bar_closes_before(
        {
            stock.id: session_day(quote.quote_time, calendar)
            for stock, quote in newer
            if needs_previous_close(stock, quote, calendar)
        }
    )
    # The same quote fetched again (a closed market, a retried task) changes nothing: no
    # write, and no new data version to empty the caches for.
    updated = [
        stock
        for stock, quote in newer
        if apply_quote(stock, quote, calendar=calendar, bar_close=bar_closes.get(stock.id))
    ]
    if updated:
        write_columns(updated, QUOTE_FIELDS)
        _after_commit()
    return IngestResult(
        rows=len(quotes), stocks=len(updated), tickers=list(batch.latest), rejected=batch.errors
    )


# --- daily bars -------------------------------------------------------------------------


@dataclass
class _BarBatch:
    rows: dict[tuple[str, date], tuple[int, Bar]]
    ids: dict[str, int]
    errors: list[RowError]


def _check_bars(bars: Sequence[Bar]) -> _BarBatch:
    calendar = get_calendar()
    today = timezone.now().astimezone(calendar.tz).date()
    errors: list[RowError] = []
    rows: dict[tuple[str, date], tuple[int, Bar]] = {}
    named: list[tuple[int, str]] = []
    # Each ticker's canonical form, read once: bars of many days repeat each ticker (an
    # invalid one is not kept, so each of its rows is reported).
    canonical: dict[str, str] = {}
    for index, bar in enumerate(bars):
        ticker = canonical.get(bar.ticker) or _canonical(index, bar.ticker, errors)
        if ticker is None:
            continue
        canonical[bar.ticker] = ticker
        named.append((index, ticker))
        check_bar(index, bar, errors, calendar=calendar, today=today)
        rows[(ticker, bar.date)] = (index, bar)
    ids = _stock_ids(t for _, t in named)
    errors.extend(RowError(i, f"{t}: unknown ticker") for i, t in named if t not in ids)
    return _BarBatch(rows, ids, sorted(errors, key=lambda e: e.index))


def validate_bars(*, bars: Sequence[Bar]) -> list[RowError]:
    """Every bad row of ``bars``, in input order; writes nothing."""
    return _check_bars(bars).errors


@transaction.atomic
def ingest_bars(*, bars: Sequence[Bar], drop_invalid: bool = False) -> IngestResult:
    """
    Upsert daily bars of existing stocks, then recompute those stocks' indicators. Bad rows:
    as ``ingest_quotes``.
    """
    batch = _check_bars(bars)
    if not drop_invalid:
        _raise_if(batch.errors)
    bad = {error.index for error in batch.errors}
    rows, ids = {k: v for k, v in batch.rows.items() if v[0] not in bad}, batch.ids
    if not rows:
        return IngestResult(rows=len(bars), rejected=batch.errors)

    adapt_date = connection.ops.adapt_datefield_value
    upsert(
        PriceBar,
        columns=["stock", "date", *BAR_FIELDS],
        rows=[
            (
                ids[ticker],
                adapt_date(day),
                *(quantize(getattr(bar, f)) for f in BAR_FIELDS[:4]),
                bar.volume,
            )
            for (ticker, day), (_index, bar) in rows.items()
        ],
        conflict=["stock", "date"],
        update=BAR_FIELDS,
    )
    stock_ids = sorted({ids[t] for t, _ in rows})
    refresh_indicators(stock_ids=stock_ids)
    _after_commit()
    return IngestResult(
        rows=len(bars),
        stocks=len(stock_ids),
        tickers=sorted({t for t, _ in rows}),
        rejected=batch.errors,
    )


def compute_indicators(closes, highs, lows, volumes) -> dict[str, object]:
    """Indicator columns from one stock's daily series (oldest first)."""
    week52 = indicators.week52_range(highs, lows)
    avg_volume = indicators.average(volumes, 30)
    return {
        "avg_volume_30d": round(avg_volume) if avg_volume is not None else None,
        "week52_high": quantize(week52[0]) if week52 else None,
        "week52_low": quantize(week52[1]) if week52 else None,
        "sma_20": quantize(indicators.sma(closes, 20)),
        "sma_50": quantize(indicators.sma(closes, 50)),
        "sma_200": quantize(indicators.sma(closes, 200)),
        "rsi_14": _round(indicators.rsi(closes, 14)),
        "volatility_30d": _round(indicators.volatility(closes, 30)),
    }


@transaction.atomic
def store_snapshots(*, stocks: Sequence[Stock]) -> int:
    """
    Write complete quote + indicator rows of existing stocks in one bulk upsert (for
    generated data, which has no bars to derive indicators from at ingest).
    """
    Stock.objects.bulk_create(
        stocks,
        update_conflicts=True,
        unique_fields=_conflict_target(["ticker"]),
        update_fields=QUOTE_FIELDS + INDICATOR_FIELDS,
        batch_size=BATCH_SIZE,
    )
    _after_commit()
    return len(stocks)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@transaction.atomic
def recompute_stock_indicators(*, stock_ids: Sequence[int]) -> int:
    """``refresh_indicators``, then a new data version if any stock changed: cached screens
    on SMA or RSI must not outlive the numbers they were built on."""
    updated = refresh_indicators(stock_ids=stock_ids)
    if updated:
        _after_commit()
    return updated


class _Double(Func):
    """
    A decimal column read as a double by the database itself, so the driver builds no
    Decimal per price: the nearest double, as ``float(Decimal)`` (SQLite stores the double
    already; its text-to-double reading may differ in the last bit, which the indicators'
    four places do not show). MySQL has no CAST to double before 8.0.17 (Django's cast to
    a FloatField adds 0.0 there, which stays a decimal): a product with the double 1e0 is.
    """

    template = "CAST(%(expressions)s AS DOUBLE PRECISION)"
    output_field = FloatField()

    def as_mysql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="(%(expressions)s * 1e0)", **extra_context
        )


def _driver_rows(query) -> list[tuple]:
    """
    The rows of a values_list ``query`` as the driver reads them: the indicators compute in
    floats, so Django's per-value conversions (on SQLite a quantized Decimal per price)
    would be work thrown away.
    """
    sql, params = query.query.get_compiler(using=query.db).as_sql()  # in its database's SQL
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@transaction.atomic
def refresh_indicators(*, stock_ids: Sequence[int]) -> int:
    """Recompute and store the indicators of these stocks from their stored daily bars."""
    computed: dict[int, dict[str, object]] = {}
    for chunk_start in range(0, len(stock_ids), 500):
        chunk = stock_ids[chunk_start : chunk_start + 500]
        # Each stock's window ends at its own latest bar (a delisted stock's history ends
        # early); stocks are grouped by that date, so this stays one short OR.
        by_last: dict[date, list[int]] = defaultdict(list)
        for stock_id, last in (
            PriceBar.objects.filter(stock_id__in=chunk)
            .values_list("stock_id")
            .annotate(last=Max("date"))
            .order_by()
        ):
            by_last[last].append(stock_id)
        if not by_last:
            continue
        window = Q()
        for last, ids in by_last.items():
            window |= Q(stock_id__in=ids, date__gte=last - timedelta(days=INDICATOR_LOOKBACK_DAYS))
        bars = (
            PriceBar.objects.filter(window)
            .order_by("stock_id", "date")
            .annotate(**{f"_{name}": _Double(name) for name in ("high", "low", "close")})
            .values_list("stock_id", "_high", "_low", "_close", "volume")
        )
        for stock_id, rows in itertools.groupby(_driver_rows(bars), key=itemgetter(0)):
            _, *columns = zip(*rows, strict=True)
            highs, lows, closes, volumes = (list(map(float, column)) for column in columns)
            computed[stock_id] = compute_indicators(closes, highs, lows, volumes)
    ids = sorted(computed)
    updated = [
        stock
        for start in range(0, len(ids), 500)
        # Locked until the commit: a stock deleted meanwhile cannot be written back.
        for stock in Stock.objects.select_for_update().filter(id__in=ids[start : start + 500])
    ]
    for stock in updated:
        for name, value in computed[stock.id].items():
            setattr(stock, name, value)
    write_columns(updated, INDICATOR_FIELDS)
    return len(updated)


# --- retention --------------------------------------------------------------------------


def purge_bars(*, before: date, stocks_per_batch: int = 200) -> int:
    """
    Delete the daily bars dated before ``before``, a batch of stocks at a time, each batch
    its own short transaction that reads through the (stock, date) index (a long delete
    would hold locks the ingest waits on). Run again after an interruption, it deletes what
    is left. The data version moves once, at the end.
    """
    stock_ids = list(Stock.objects.order_by("id").values_list("id", flat=True))
    deleted = 0
    for start in range(0, len(stock_ids), stocks_per_batch):
        with transaction.atomic():
            count = PriceBar.objects.filter(
                stock_id__in=stock_ids[start : start + stocks_per_batch], date__lt=before
            ).delete()[0]
            deleted += count
    if deleted:
        _after_commit()  # once: history answers and the snapshot follow the new version
    return deleted
