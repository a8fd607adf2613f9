"""
Celery tasks. Each asks the provider for data and hands it to the ingest service, which
is idempotent, so a retried or duplicated task does no harm.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db.models import Max
from django.utils import timezone

from .market_calendar import get_calendar
from .models import PriceBar, Stock
from .providers import get_provider
from .providers.base import ProviderUnavailable
from .services.ingest import ingest_bars, ingest_quotes, refresh_indicators

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


def _active_tickers() -> list[str]:
    return list(Stock.objects.active().order_by("ticker").values_list("ticker", flat=True))


@shared_task(**RETRY)
def refresh_quotes() -> int:
    """Fetch the latest quote of every active stock (skipped while the market is closed)."""
    if not get_calendar().is_open(timezone.now()):
        return 0
    provider = get_provider()
    tickers = _active_tickers()
    stored = 0
    for start in range(0, len(tickers), CHUNK):
        stored += ingest_quotes(quotes=provider.get_quotes(tickers[start : start + CHUNK])).stocks
    logger.info("refreshed %d quotes from %s", stored, provider.name)
    return stored


@shared_task(**RETRY)
def refresh_daily_bars() -> int:
    """Fetch daily bars since the newest stored bar up to the last completed session."""
    calendar = get_calendar()
    last_session = calendar.last_completed_session(timezone.now())
    newest = PriceBar.objects.aggregate(newest=Max("date"))["newest"]
    start = newest + timedelta(days=1) if newest else last_session - timedelta(days=365)
    if start > last_session:
        return 0
    provider = get_provider()
    tickers = _active_tickers()
    stored = 0
    for first in range(0, len(tickers), CHUNK):
        chunk = tickers[first : first + CHUNK]
        stored += ingest_bars(bars=provider.get_daily_bars(chunk, start, last_session)).rows
    return stored


@shared_task
def recompute_indicators() -> int:
    """Recompute every active stock's indicators from its stored bars."""
    ids = list(Stock.objects.active().values_list("id", flat=True))
    return refresh_indicators(stock_ids=ids)
