"""The refresh tasks on a real provider's recorded answers (Massive), run eagerly."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import responses
from django.core.cache import cache
from django.core.management import call_command

from stocks import tasks
from stocks.models import PriceBar, Stock
from stocks.providers.base import ProviderUnavailable
from stocks.providers.breaker import OPEN, CircuitBreaker
from stocks.task_locks import lock_key
from tests.support.providers import BASE, SNAPSHOT, TICKERS, grouped, recorded

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("provider_settings")]

NEW_YORK = ZoneInfo("America/New_York")
MONDAY_MORNING = datetime(2026, 11, 23, 11, 0, tzinfo=NEW_YORK)
MONDAY_NIGHT = datetime(2026, 11, 23, 20, 0, tzinfo=NEW_YORK)


@pytest.fixture
def massive(settings, monkeypatch):
    settings.MARKET_DATA_PROVIDER = "massive"

    def at(moment):
        monkeypatch.setattr(tasks.timezone, "now", lambda: moment)

    at(MONDAY_MORNING)
    return at


@pytest.fixture
def market(stock_factory):
    return {
        ticker: stock_factory(ticker=ticker, quote_time=datetime(2026, 11, 20, 21, 0, tzinfo=UTC))
        for ticker in ("AAPL", "BRK.B", "MSFT")
    }


# --- quotes ----------------------------------------------------------------------------------


def test_quotes__the_whole_market_in_one_call_stored_for_known_tickers(
    http, massive, market, caplog
):
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    caplog.set_level(logging.INFO)
    assert tasks.refresh_quotes.delay().get() == 2  # AAPL, BRK.B (MSFT has no price yet)
    assert len(http.calls) == 1
    aapl = Stock.objects.get(ticker="AAPL")
    assert aapl.price == Decimal("230.91") and aapl.previous_close == Decimal("229.64")
    assert aapl.quote_time == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    assert aapl.change == Decimal("230.91") - Decimal("229.64")
    assert Stock.objects.get(ticker="MSFT").price == market["MSFT"].price
    # Tickers the database does not carry (ZZZQ, KIMbw) are not errors and are not added.
    assert not Stock.objects.filter(ticker__in=["ZZZQ", "KIMBW"]).exists()
    assert not [
        r for r in caplog.records if r.name.startswith("stocks") and r.levelno >= logging.WARNING
    ]


def test_quotes__twice_is_the_same_data(http, massive, market):
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    tasks.refresh_quotes.delay().get()
    first = list(Stock.objects.order_by("ticker").values())
    assert tasks.refresh_quotes.delay().get() == 0  # nothing changed: no write
    assert list(Stock.objects.order_by("ticker").values()) == first


def test_quotes__provider_down_inline_raises_without_task_retries(
    http, massive, market, slept, settings
):
    """Run inline (a command, no broker) the error reaches the caller after the call's tries."""
    settings.PROVIDER_MAX_ATTEMPTS = 2
    http.get(SNAPSHOT, status=503, body="down")
    with pytest.raises(ProviderUnavailable):
        tasks.refresh_quotes.delay().get()
    assert len(http.calls) == 2


@pytest.mark.parametrize(("retries", "retry_after", "low", "high"), [
    (0, None, 0, 30), (3, None, 0, 240), (10, None, 0, 600), (0, 120, 120, 120), (2, 7, 7, 120),
    (0, 86_400, 600, 600),  # a day's Retry-After: capped, under the visibility timeout
])  # fmt: skip
def test_task_retry_countdown__backoff_with_jitter_at_least_retry_after(
    retries, retry_after, low, high
):
    waits = [tasks._retry_countdown(retries, retry_after) for _ in range(200)]
    assert all(low <= wait <= high for wait in waits)
    if retry_after is None:
        assert len(set(waits)) > 10  # jittered


def test_quotes__refused_is_logged_not_retried(http, massive, market, caplog):
    http.get(SNAPSHOT, status=401, json=recorded("massive/error_401.json"))
    assert tasks.refresh_quotes.delay().get() is tasks.SKIPPED
    assert len(http.calls) == 1
    assert any(
        "Unknown API Key" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR
    )


def test_quotes__open_breaker_skips_without_calling(http, massive, market, settings, slept):
    settings.PROVIDER_MAX_ATTEMPTS = 1
    settings.PROVIDER_BREAKER_FAILURES = 2
    http.get(SNAPSHOT, status=500, body="down")
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            tasks.refresh_quotes.delay().get()
    assert CircuitBreaker("massive", "quotes").state().state == OPEN
    calls_before = len(http.calls)
    assert tasks.refresh_quotes.delay().get() is tasks.SKIPPED
    assert len(http.calls) == calls_before


def test_quotes__a_run_holding_the_lock_makes_the_other_skip(http, massive, market, settings):
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    cache.add(lock_key("refresh-quotes"), "another-worker", timeout=60)
    assert tasks.refresh_quotes.delay().get() is tasks.SKIPPED
    assert len(http.calls) == 0
    cache.delete(lock_key("refresh-quotes"))
    assert tasks.refresh_quotes.delay().get() == 2
    assert cache.get(lock_key("refresh-quotes")) is None  # released


# --- daily bars ------------------------------------------------------------------------------


def test_bars__one_grouped_call_per_missing_day(http, massive, market, bar_factory):
    for stock in market.values():
        bar_factory(stock=stock, date=date(2026, 11, 19))
    http.get(grouped("2026-11-20"), json=recorded("massive/grouped_daily_2026-11-20.json"))
    assert tasks.refresh_daily_bars.delay().get() == 3  # AAPL, BRK.B, MSFT (ZZZQ unknown)
    assert len(http.calls) == 1
    bar = PriceBar.objects.get(stock__ticker="AAPL", date=date(2026, 11, 20))
    assert (bar.open, bar.close, bar.volume) == (Decimal("228.1"), Decimal("229.64"), 41200333)
    assert tasks.refresh_daily_bars.delay().get() == 0  # up to date: no call
    assert len(http.calls) == 1


def test_bars__each_stock_resumes_from_its_own_newest_bar(http, massive, market, bar_factory):
    """Only the stocks missing a day are stored for it; a day nobody misses is not asked."""
    bar_factory(stock=market["AAPL"], date=date(2026, 11, 18))
    bar_factory(stock=market["BRK.B"], date=date(2026, 11, 19))
    bar_factory(stock=market["MSFT"], date=date(2026, 11, 20))
    day_19 = recorded("massive/grouped_daily_2026-11-20.json")
    http.get(grouped("2026-11-19"), json=day_19)
    http.get(grouped("2026-11-20"), json=recorded("massive/grouped_daily_2026-11-20.json"))
    assert tasks.refresh_daily_bars.delay().get() == 3  # AAPL twice, BRK.B once
    assert [c.request.url.split("/")[-1].split("?")[0] for c in http.calls] == [
        "2026-11-19", "2026-11-20",
    ]  # fmt: skip
    stored = sorted(PriceBar.objects.values_list("stock__ticker", "date"))
    assert stored == [
        ("AAPL", date(2026, 11, 18)), ("AAPL", date(2026, 11, 19)), ("AAPL", date(2026, 11, 20)),
        ("BRK.B", date(2026, 11, 19)), ("BRK.B", date(2026, 11, 20)),
        ("MSFT", date(2026, 11, 20)),  # up to date: not stored again from the 19th's answer
    ]  # fmt: skip


def test_bars__a_failed_day_keeps_the_days_before(
    http, massive, market, bar_factory, slept, settings
):
    settings.PROVIDER_MAX_ATTEMPTS = 1
    for stock in market.values():
        bar_factory(stock=stock, date=date(2026, 11, 18))
    http.get(grouped("2026-11-19"), json=recorded("massive/grouped_daily_2026-11-20.json"))
    http.get(grouped("2026-11-20"), status=503, body="down")
    with pytest.raises(ProviderUnavailable):
        tasks.refresh_daily_bars.delay().get()
    assert PriceBar.objects.filter(date=date(2026, 11, 19)).count() == 3


def test_bars__a_new_stock_gets_its_history_in_one_call(http, massive, market, bar_factory):
    """No bars yet (a new listing): its whole range is one call, not a grouped call a day."""
    for ticker in ("BRK.B", "MSFT"):
        bar_factory(stock=market[ticker], date=date(2026, 11, 20))
    http.get(
        f"{BASE}/v2/aggs/ticker/AAPL/range/1/day/2025-11-20/2026-11-20",
        json=recorded("massive/aggs_ticker_AAPL_2026-11-18_2026-11-20.json"),
    )
    assert tasks.refresh_daily_bars.delay().get() == 3
    assert len(http.calls) == 1
    assert PriceBar.objects.filter(stock__ticker="AAPL").count() == 3


def test_bars__what_the_provider_lacks_is_asked_once_a_day(http, massive, market, bar_factory):
    """
    A halted stock the grouped answer never carries, and a new one with no history at all:
    the second run the same day asks nothing again, so neither can hold the refresh back.
    """
    for ticker in ("AAPL", "BRK.B"):
        bar_factory(stock=market[ticker], date=date(2026, 11, 19))
    day = recorded("massive/grouped_daily_2026-11-20.json")
    day["results"] = [r for r in day["results"] if r["T"] != "BRK.B"]  # halted
    http.get(grouped("2026-11-20"), json=day)
    http.get(
        f"{BASE}/v2/aggs/ticker/MSFT/range/1/day/2025-11-20/2026-11-20",
        json={"ticker": "MSFT", "status": "OK", "resultsCount": 0, "results": []},
    )
    assert tasks.refresh_daily_bars.delay().get() == 1  # AAPL's bar
    assert len(http.calls) == 2
    assert tasks.refresh_daily_bars.delay().get() == 0
    assert len(http.calls) == 2


def test_bars__many_stocks_behind_are_caught_up_by_day(http, massive, stock_factory, monkeypatch):
    """
    A new install (every stock without bars): not one call per stock but one grouped call per
    missing day, oldest first, each answered day not asked again by the next run.
    """
    import re

    monkeypatch.setattr(tasks, "BACKFILL_PER_RUN", 2)
    for n in range(5):
        stock_factory(ticker=f"N{n}", quote_time=None)
    http.get(
        re.compile(rf"{re.escape(BASE)}/v2/aggs/grouped/locale/us/market/stocks/.*"),
        json={"status": "OK", "results": []},
    )
    tasks.refresh_daily_bars.delay().get()
    days = [c.request.url.split("/")[-1].split("?")[0] for c in http.calls]
    assert 245 <= len(days) <= 255 and days == sorted(days)  # a year of sessions, in order
    assert days[-1] == "2026-11-20" and not any("/ticker/" in c.request.url for c in http.calls)
    tasks.refresh_daily_bars.delay().get()
    assert len(http.calls) == len(days)  # nothing asked twice


# --- listings --------------------------------------------------------------------------------


def _listing_pages(http):
    """The two recorded pages, each answered as often as asked."""
    page_one = recorded("massive/tickers_page_1.json")
    first = responses.matchers.query_param_matcher({"market": "stocks"}, strict_match=False)
    http.get(TICKERS, json=page_one, match=[first])
    http.get(page_one["next_url"], json=recorded("massive/tickers_page_2.json"))


def test_listings__new_added_vanished_deactivated_returning_reactivated(
    http, massive, market, stock_factory
):
    gone = stock_factory(ticker="GONE")
    stock_factory(ticker="BACK", is_active=False)
    stock_factory(ticker=f"X{0}", is_active=True)
    sector = market["AAPL"].sector
    _listing_pages(http)
    page_two = recorded("massive/tickers_page_2.json")
    page_two["results"].append(
        {"ticker": "BACK", "name": "Back Again Inc", "type": "CS", "primary_exchange": "XNAS"}
    )
    http.replace("GET", recorded("massive/tickers_page_1.json")["next_url"], json=page_two)
    settings_share = 0.5
    from django.conf import settings

    settings.LISTING_MAX_DEACTIVATED_SHARE = settings_share
    assert tasks.refresh_listings.delay().get() == 5
    newc = Stock.objects.get(ticker="NEWC")
    assert newc.is_active and newc.name == "Newco Holdings Corp" and newc.exchange == "NYSE"
    assert not Stock.objects.get(pk=gone.pk).is_active  # deactivated, not deleted
    assert Stock.objects.get(ticker="BACK").is_active
    aapl = Stock.objects.get(ticker="AAPL")
    assert aapl.name == "Apple Inc." and aapl.exchange == "NASDAQ"
    assert aapl.sector == sector  # the listing does not say: what was stored stays


def test_listings__a_partial_listing_deactivates_nothing(http, massive, stock_factory, caplog):
    for n in range(20):
        stock_factory(ticker=f"S{n}")
    _listing_pages(http)
    assert tasks.refresh_listings.delay().get() is tasks.SKIPPED
    assert Stock.objects.active().count() == 20
    assert not Stock.objects.filter(ticker="NEWC").exists()
    assert any("would deactivate 20 of 20" in r.getMessage() for r in caplog.records)


def test_listings__a_failed_page_changes_nothing(http, massive, market, slept, settings):
    settings.PROVIDER_MAX_ATTEMPTS = 1
    page_one = recorded("massive/tickers_page_1.json")
    http.get(TICKERS, json=page_one)
    http.get(page_one["next_url"], status=500, body="down")
    with pytest.raises(ProviderUnavailable):
        tasks.refresh_listings.delay().get()
    assert not Stock.objects.filter(ticker="NEWC").exists()
    assert Stock.objects.active().count() == 3


def test_listings__simulated_has_none(settings, market):
    settings.MARKET_DATA_PROVIDER = "simulated"
    assert tasks.refresh_listings.delay().get() is tasks.SKIPPED
    assert Stock.objects.active().count() == 3


# --- retention, indicators, aggregates, warming ------------------------------------------------


def test_purge__bars_older_than_the_retention_go(massive, market, bar_factory, settings):
    settings.BAR_RETENTION_DAYS = 400
    today = MONDAY_MORNING.date()
    old, kept = today - timedelta(days=401), today - timedelta(days=399)
    for stock in market.values():
        bar_factory(stock=stock, date=old)
        bar_factory(stock=stock, date=kept)
    assert tasks.purge_old_bars.delay().get() == 3
    assert sorted(set(PriceBar.objects.values_list("date", flat=True))) == [kept]
    assert tasks.purge_old_bars.delay().get() == 0


def test_purge__never_within_the_indicators_lookback(massive, market, bar_factory, settings):
    settings.BAR_RETENTION_DAYS = 30
    bar_factory(stock=market["AAPL"], date=MONDAY_MORNING.date() - timedelta(days=300))
    assert tasks.purge_old_bars.delay().get() == 0


def test_publish_market_and_warm_cache__answers_are_cached_before_anyone_asks(
    market, settings, limits
):
    """
    Rendered into the shared cache for the current data version, through the whole stack,
    and never charged to a plan: with limits on and an anonymous quota of 1 a day, every
    warm run still renders all its answers.
    """
    from stocks.access.models import Plan
    from stocks.services.cache_maintenance import clear_cache

    settings.MARKET_DATA_PROVIDER = "simulated"
    Plan.objects.filter(slug="anonymous").update(requests_per_minute=1, requests_per_day=1)
    for _ in range(3):
        assert tasks.publish_market.delay().get() == 2  # sectors, movers
        assert tasks.warm_cache.delay().get() == 2  # the list, the field catalog
    cached = clear_cache(namespaces=["stocks", "market"], dry_run=True).removed
    assert cached["market"] >= 2 and cached["stocks"] >= 2


def test_recompute_indicators__from_the_stored_bars_under_the_lock(market, bar_factory):
    from stocks.task_locks import lock_key

    stock = market["AAPL"]
    stock.sma_20 = None
    stock.save()
    day = date(2026, 10, 1)
    for n in range(30):
        bar_factory(stock=stock, date=day + timedelta(days=n), close=Decimal(100 + n))
    cache.add(lock_key("recompute-indicators"), "another-task", timeout=60)
    assert tasks.recompute_indicators.delay().get() is tasks.SKIPPED
    assert Stock.objects.get(pk=stock.pk).sma_20 is None
    cache.delete(lock_key("recompute-indicators"))
    assert tasks.recompute_indicators.delay().get() == 1
    assert Stock.objects.get(pk=stock.pk).sma_20 is not None


def test_a_redelivered_task_takes_its_own_lock_back(http, massive, market):
    """A pool child killed mid-task leaves its lock; Celery delivers the task again at once."""
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    cache.add(lock_key("refresh-quotes"), "task-1", timeout=60)  # the dead child's
    assert tasks.refresh_quotes.apply(task_id="task-2").get() is tasks.SKIPPED
    assert tasks.refresh_quotes.apply(task_id="task-1").get() == 2
    assert cache.get(lock_key("refresh-quotes")) is None


def test_listings__an_unchanged_listing_moves_no_data_version(http, massive, market, settings):
    from stocks import data_version

    settings.LISTING_MAX_DEACTIVATED_SHARE = 1.0
    _listing_pages(http)
    tasks.refresh_listings.delay().get()
    before = data_version.current(fresh=True)
    assert tasks.refresh_listings.delay().get() == 4
    assert data_version.current(fresh=True) == before


# --- the command -------------------------------------------------------------------------------


def test_command__async_prints_the_task_ids(http, massive, market):
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    out = StringIO()
    call_command("refresh_market_data", "--quotes", "--async", stdout=out)
    line = out.getvalue().strip()
    assert line.startswith("stocks.tasks.refresh_quotes enqueued: ")
    assert len(line.rsplit(" ", 1)[1]) == 36  # a task id (uuid)


def test_command__listings_inline(http, massive, market, settings):
    settings.LISTING_MAX_DEACTIVATED_SHARE = 1.0
    _listing_pages(http)
    out = StringIO()
    call_command("refresh_market_data", "--listings", stdout=out)
    assert out.getvalue() == "Listings: 4.\n"


def test_a_task_that_kills_its_worker_every_time_is_given_up(http, massive, market, caplog):
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    cache.add(lock_key("refresh-quotes"), "task-1", timeout=60)  # its dead run's lock
    for _ in range(2):  # two takeovers: requeued after its child was killed, twice
        cache.set(lock_key("refresh-quotes"), "task-1", timeout=60)
        tasks.refresh_quotes.apply(task_id="task-1").get()
    cache.set(lock_key("refresh-quotes"), "task-1", timeout=60)
    assert tasks.refresh_quotes.apply(task_id="task-1").get() is tasks.SKIPPED
    assert "delivered again after its worker died 3 times; given up" in caplog.text


def test_bulk_upsert__batches_fit_sqlites_parameter_limit(market, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from stocks.services.bulk import write_columns

    monkeypatch.setattr(connection.features, "max_query_params", 25)
    stocks = list(Stock.objects.order_by("ticker"))
    for n, stock in enumerate(stocks):
        stock.price = Decimal(f"{10 + n}.5000")
    with CaptureQueriesContext(connection) as queries:
        assert write_columns(stocks, ["price"]) == 3
    # The key, the 8 NOT NULL columns and the price: 10 a row, 2 rows within 25 parameters.
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2
    assert list(Stock.objects.order_by("ticker").values_list("price", flat=True)) == [
        Decimal("10.5000"), Decimal("11.5000"), Decimal("12.5000"),
    ]  # fmt: skip
