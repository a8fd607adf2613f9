"""
Celery tasks. Each asks the provider for data and hands it to the ingest service, which
is idempotent, so a retried or duplicated task does no harm.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from .market_calendar import get_calendar
from .models import PriceBar, Stock
from .providers import get_provider
from .providers.base import ProviderUnavailable
from .services.ingest import (
    IngestResult,
    ingest_bars,
    ingest_quotes,
    refresh_indicators,
    validate_bars,
    validate_quotes,
)

logger = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": (ProviderUnavailable,),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}
# Quotes are asked for in chunks so one provider call stays small.
CHUNK = 500
# A quote this close to the session's end counts as its closing quote.
CLOSE_TOLERANCE = timedelta(minutes=1)


def _store(kind: str, rows: list) -> IngestResult:
    """
    Ingest what the provider sent, less the rows that cannot be stored (each logged): one
    bad row must not stop the refresh of every other stock, run after run.
    """
    validate, ingest = (
        (validate_bars, ingest_bars) if kind == "bars" else (validate_quotes, ingest_quotes)
    )
    errors = validate(**{kind: rows})
    if errors:
        for error in errors[:20]:
            logger.warning("provider %s rejected: %s", kind, error.message)
        if len(errors) > 20:
            logger.warning("... and %d more rejected provider %s", len(errors) - 20, kind)
        rejected = {error.index for error in errors}
        rows = [row for index, row in enumerate(rows) if index not in rejected]
    return ingest(**{kind: rows})


def _in_chunks(tickers: list[str]):
    for start in range(0, len(tickers), CHUNK):
        yield tickers[start : start + CHUNK]


@shared_task(**RETRY)
def refresh_quotes() -> int:
    """
    While the market is open, the latest quote of every active stock. While it is closed,
    the closing quote of each stock whose stored quote predates the last session's close,
    so the last intraday quote never stands in for the close; once stored, a closed-market
    run has nothing to do.
    """
    calendar = get_calendar()
    now = timezone.now()
    stocks = Stock.objects.active()
    if not calendar.is_open(now):
        closed_at = calendar.session(calendar.last_completed_session(now))[1]
        stocks = stocks.quoted_before(closed_at - CLOSE_TOLERANCE)
    tickers = list(stocks.order_by("ticker").values_list("ticker", flat=True))
    if not tickers:
        return 0
    provider = get_provider()
    stored = 0
    for chunk in _in_chunks(tickers):
        stored += _store("quotes", provider.get_quotes(chunk)).stocks
    logger.info("refreshed %d quotes from %s", stored, provider.name)
    return stored


@shared_task(**RETRY)
def refresh_daily_bars() -> int:
    """
    Fetch each active stock's daily bars from the day after its newest stored bar (a year
    back for a stock with none) up to the last completed session. Each stock starts from
    its own newest bar, so a run cut short by a provider failure is completed by the retry.
    """
    calendar = get_calendar()
    last_session = calendar.last_completed_session(timezone.now())
    newest = PriceBar.objects.newest_by_ticker()
    by_start: dict[date, list[str]] = defaultdict(list)
    for ticker in Stock.objects.active().order_by("ticker").values_list("ticker", flat=True):
        known = newest.get(ticker)
        start = known + timedelta(days=1) if known else last_session - timedelta(days=365)
        if start <= last_session:
            by_start[start].append(ticker)
    if not by_start:
        return 0
    provider = get_provider()
    stored = 0
    for start, tickers in sorted(by_start.items()):
        for chunk in _in_chunks(tickers):
            stored += _store("bars", provider.get_daily_bars(chunk, start, last_session)).rows
    return stored


@shared_task
def recompute_indicators() -> int:
    """Recompute every active stock's indicators from its stored bars."""
    ids = list(Stock.objects.active().values_list("id", flat=True))
    return refresh_indicators(stock_ids=ids)
