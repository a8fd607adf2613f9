"""
Celery tasks: each asks the provider for data and hands it to the ingest service.

Every task is idempotent (the ingest upserts, an older quote never replaces a newer one),
and holds its kind's lock (``task_locks``) while it runs: two deliveries at once (two beat
processes by mistake, a redelivery) do the work once, the other is skipped. Provider
errors worth retrying (``ProviderUnavailable``) retry the task with exponential backoff and
jitter, after the ``Retry-After`` the provider asked for when it is longer; a provider that
refuses (bad key, plan) is logged, not retried; an open circuit breaker skips the run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta

from celery import shared_task
from celery.exceptions import Retry
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from . import metrics
from .cache_namespaces import cache_key
from .market_calendar import get_calendar
from .models import PriceBar, Stock
from .providers import get_provider
from .providers.base import CircuitOpen, ProviderRefused, ProviderUnavailable
from .screen import snapshots
from .services import warming
from .services.ingest import (
    INDICATOR_LOOKBACK_DAYS,
    IngestResult,
    ListingIncomplete,
    ingest_bars,
    ingest_quotes,
    purge_bars,
    recompute_stock_indicators,
    sync_listings,
    validate_listings,
)
from .task_locks import single_run
from .tickers import InvalidTicker, normalize_ticker

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
BACKOFF_SECONDS = 30
BACKOFF_MAX_SECONDS = 600
# Quotes are asked for in chunks so one provider call stays small (chunked providers).
CHUNK = 500
# A quote this close to the session's end counts as its closing quote.
CLOSE_TOLERANCE = timedelta(minutes=1)
# Market-wide bars: stocks more than CATCH_UP_DAYS sessions behind (or new) are asked one by
# one when there are at most BACKFILL_PER_RUN of them; how far back a new stock's history
# goes; how long a day or a stock once answered is not asked again (a provider with nothing
# for it: a halted stock must not make every run ask the same days).
CATCH_UP_DAYS = 10
BACKFILL_PER_RUN = 50
BACKFILL_DAYS = 365
ASKED_SECONDS = 6 * 24 * 3600
# Rows a provider sends that cannot be stored are logged, at most this many per run.
MAX_REPORTED = 20
SKIPPED = None  # what a task returns when it did not run (locked, breaker open)


def refresh(name: str):
    """
    A refresh task: registered as ``stocks.tasks.<function>``, run under its kind's lock,
    retried on ``ProviderUnavailable`` (backoff with jitter, at least the provider's
    ``Retry-After``), skipped while the breaker is open, logged when the provider refuses.
    """

    def decorate(function):
        def run(self, *args, **kwargs):
            outcome = "failed"
            try:
                result, outcome = _run_once(self, name, function, args, kwargs)
                return result
            except Retry:
                outcome = "retried"
                raise
            finally:
                metrics.TASKS.inc(task=name, outcome=outcome)

        run.__name__, run.__qualname__, run.__doc__ = (
            function.__name__, function.__qualname__, function.__doc__,
        )  # fmt: skip
        run.__module__ = function.__module__
        return shared_task(bind=True, max_retries=MAX_RETRIES)(run)

    return decorate


def _run_once(task, name: str, function, args, kwargs) -> tuple[object, str]:
    """One run of a refresh: its result and outcome (``metrics.TASKS``); raises to retry."""
    # The lock's owner is the task id: the same task delivered again after its worker died
    # takes it back; another task of the kind is skipped.
    with single_run(name, task.request.id) as mine:
        if not mine:
            logger.info("%s: another run holds the lock; skipped", name)
            return SKIPPED, "skipped"
        try:
            return function(*args, **kwargs), "succeeded"
        except CircuitOpen as exc:
            logger.info("%s: skipped (%s)", name, exc)
            return SKIPPED, "circuit_open"
        except ProviderRefused as exc:
            logger.error("%s: the provider refused: %s", name, exc)
            return SKIPPED, "refused"
        except ProviderUnavailable as exc:
            failure = exc
    if task.request.is_eager:
        raise failure  # run inline (a command, no broker): the caller sees the error
    countdown = _retry_countdown(task.request.retries, failure.retry_after)
    logger.warning(
        "%s: provider unavailable (%s); retry %d of %d in %.0fs",
        name, failure, task.request.retries + 1, MAX_RETRIES, countdown,
    )  # fmt: skip
    raise task.retry(exc=failure, countdown=countdown)


def _retry_countdown(retries: int, retry_after: float | None) -> float:
    """
    Full-jitter exponential backoff, at least the provider's ``Retry-After``, at most
    ``BACKOFF_MAX_SECONDS`` and half the visibility timeout: a task waiting for its retry is
    held unacknowledged by a worker, and past the visibility timeout Redis would hand it
    to another worker as well.
    """
    from celery.utils.time import get_exponential_backoff_interval

    ceiling = min(BACKOFF_MAX_SECONDS, settings.CELERY_VISIBILITY_TIMEOUT_SECONDS / 2)
    backoff = get_exponential_backoff_interval(
        factor=BACKOFF_SECONDS, retries=retries, maximum=ceiling, full_jitter=True
    )
    return min(max(backoff, retry_after or 0), ceiling)


def _report(kind: str, errors) -> set[int]:
    """Log the rows that cannot be stored; their indexes."""
    for error in errors[:MAX_REPORTED]:
        logger.warning("provider %s rejected: %s", kind, error.message)
    if len(errors) > MAX_REPORTED:
        logger.warning("... and %d more rejected provider %s", len(errors) - MAX_REPORTED, kind)
    return {error.index for error in errors}


def _store(kind: str, rows: list) -> IngestResult:
    """
    Ingest what the provider sent, less the rows that cannot be stored (each logged): one
    bad row must not stop the refresh of every other stock, run after run.
    """
    ingest = ingest_bars if kind == "bars" else ingest_quotes
    result = ingest(**{kind: rows}, drop_invalid=True)
    _report(kind, result.rejected)
    return result


def _known(rows: list, tickers: set[str]) -> list:
    """
    The rows of ``tickers``: a market-wide answer covers every listed security, most of
    which this database does not carry (other types, OTC, inactive): not errors.
    """
    kept = []
    for row in rows:
        try:
            if normalize_ticker(row.ticker) in tickers:
                kept.append(row)
        except InvalidTicker:
            continue
    return kept


def _in_chunks(tickers: list[str]):
    for start in range(0, len(tickers), CHUNK):
        yield tickers[start : start + CHUNK]


@refresh("refresh-quotes")
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
        logger.info("refreshed 0 quotes: the market is closed and every closing quote is stored")
        return 0
    provider = get_provider()
    if provider.market_wide:
        stored = _store("quotes", _known(provider.get_quotes(tickers), set(tickers))).stocks
    else:
        stored = sum(
            _store("quotes", _known(provider.get_quotes(chunk), set(chunk))).stocks
            for chunk in _in_chunks(tickers)
        )
    logger.info("refreshed %d quotes from %s", stored, provider.name)
    return stored


def _bar_starts(last_session: date) -> dict[str, date]:
    """
    Each active ticker that needs bars, and the first day it needs: the day after its newest
    stored bar, or BACKFILL_DAYS back for a stock with none.
    """
    newest = PriceBar.objects.newest_by_ticker()
    starts = {}
    for ticker in Stock.objects.active().order_by("ticker").values_list("ticker", flat=True):
        known = newest.get(ticker)
        oldest = last_session - timedelta(days=BACKFILL_DAYS)  # a stock back from long ago too
        start = max(known + timedelta(days=1), oldest) if known else oldest
        if start <= last_session:
            starts[ticker] = start
    return starts


def _asked_key(provider: str, what: str) -> str:
    return cache_key("tasks", "bars-asked", provider, what)


@refresh("refresh-daily-bars")
def refresh_daily_bars() -> int:
    """
    Fetch each active stock's daily bars from the day after its newest stored bar (a year
    back for a stock with none) up to the last completed session; each stock starts from
    its own newest bar, so a run cut short is completed by the next.

    A chunked provider is asked per chunk of tickers. A market-wide provider is asked one
    day at a time (oldest first, each day stored before the next is asked) for the last
    CATCH_UP_DAYS sessions, each day at most once a day: a stock the provider has nothing
    for (halted, unknown to it) cannot make every run ask the same days again. Stocks
    further behind, or with no bars (a new listing), are asked one by one for their whole
    range, at most BACKFILL_PER_RUN a run and each at most once a day.
    """
    calendar = get_calendar()
    last_session = calendar.last_completed_session(timezone.now())
    starts = _bar_starts(last_session)
    if not starts:
        logger.info("stored 0 daily bars: every stock is up to date")
        return 0
    provider = get_provider()
    stored = 0
    if not provider.market_wide:
        by_start: dict[date, list[str]] = defaultdict(list)
        for ticker, start in starts.items():
            by_start[start].append(ticker)
        for start, tickers in sorted(by_start.items()):
            for chunk in _in_chunks(tickers):
                bars = provider.get_daily_bars(chunk, start, last_session)
                stored += _store("bars", _known(bars, set(chunk))).rows
        logger.info("stored %d daily bars from %s", stored, provider.name)
        return stored

    # Few stocks behind (a new listing, a long-halted stock): one call each for its range.
    # Many (a new install, a long outage): the missing days one grouped call each, which
    # serves every stock at once.
    window = calendar.trading_days(last_session - timedelta(days=3 * CATCH_UP_DAYS), last_session)
    behind = [t for t, start in starts.items() if start < window[-CATCH_UP_DAYS:][0]]
    one_by_one = behind if len(behind) <= BACKFILL_PER_RUN else []
    by_day = {t: start for t, start in starts.items() if t not in one_by_one}
    if by_day:
        for day in calendar.trading_days(min(by_day.values()), last_session):
            wanted = {t for t, start in by_day.items() if start <= day}
            if not wanted or cache.get(_asked_key(provider.name, day)):
                continue
            bars = _known(provider.get_daily_bars(sorted(wanted), day, day), wanted)
            stored += _store("bars", bars).rows
            # Answered: not asked again for a while, even for a stock it had nothing for.
            cache.set(_asked_key(provider.name, day), 1, ASKED_SECONDS)
    for ticker in one_by_one:
        if cache.get(_asked_key(provider.name, ticker)):
            continue
        try:
            history = provider.get_daily_bars([ticker], starts[ticker], last_session)
        except ProviderRefused as exc:  # this stock only (a range the plan does not cover)
            logger.warning("refresh-daily-bars: %s refused: %s", ticker, exc)
            history = []
        stored += _store("bars", _known(history, {ticker})).rows
        cache.set(_asked_key(provider.name, ticker), 1, ASKED_SECONDS)
    logger.info("stored %d daily bars from %s", stored, provider.name)
    return stored


@refresh("refresh-listings")
def refresh_listings() -> int | None:
    """
    Follow the provider's listing: new tickers added, listed ones updated and active,
    vanished ones deactivated (never deleted). A provider without a listing skips it; a
    listing that would deactivate more than LISTING_MAX_DEACTIVATED_SHARE of the active
    stocks is refused and logged (a provider's partial answer).
    """
    provider = get_provider()
    listings = provider.get_listings()
    if listings is None:
        logger.info("%s has no listing; the stocks table is managed by hand", provider.name)
        return SKIPPED
    _report("listings", validate_listings(listings=listings))
    try:
        result = sync_listings(
            listings=listings, max_deactivated_share=settings.LISTING_MAX_DEACTIVATED_SHARE
        )
    except ListingIncomplete as exc:
        logger.error("refresh-listings: %s", exc)
        return SKIPPED
    logger.info(
        "listings from %s: %d listed, %d new, %d deactivated, %d reactivated",
        provider.name, result.listed, result.created, len(result.deactivated),
        len(result.reactivated),
    )  # fmt: skip
    return result.listed


@refresh("recompute-indicators")
def recompute_indicators() -> int:
    """Recompute every active stock's indicators from its stored bars."""
    ids = list(Stock.objects.active().values_list("id", flat=True))
    return recompute_stock_indicators(stock_ids=ids)


@refresh("publish-market")
def publish_market() -> int:
    """
    Publish the current data version's screen snapshot (built once, shared through Redis)
    and render the market aggregates (sector summary, movers) into the response cache.
    """
    snapshots.publish()
    return len(warming.warm(paths=settings.MARKET_AGGREGATE_PATHS).warmed)


@refresh("warm-cache")
def warm_cache() -> int:
    """Render the hot answers (CACHE_WARM_PATHS) for the current data version."""
    return len(warming.warm(paths=settings.CACHE_WARM_PATHS).warmed)


@refresh("purge-bars")
def purge_old_bars() -> int:
    """Delete daily bars older than BAR_RETENTION_DAYS (never within the indicators' 380)."""
    keep = max(settings.BAR_RETENTION_DAYS, INDICATOR_LOOKBACK_DAYS)
    today = timezone.now().astimezone(get_calendar().tz).date()
    deleted = purge_bars(before=today - timedelta(days=keep))
    logger.info("purged %d daily bars older than %d days", deleted, keep)
    return deleted
