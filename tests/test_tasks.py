"""Celery tasks (run eagerly): provider -> ingest, idempotent."""

import dataclasses
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from stocks import tasks
from stocks.models import PriceBar, Stock
from stocks.providers.simulated import SimulatedProvider

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
MONDAY_MORNING = datetime(2026, 11, 23, 11, 0, tzinfo=NEW_YORK)
SATURDAY = datetime(2026, 11, 21, 12, 0, tzinfo=NEW_YORK)


@pytest.fixture
def at(monkeypatch):
    def set_now(moment):
        monkeypatch.setattr(tasks.timezone, "now", lambda: moment)

    return set_now


def test_refresh_quotes__stores_intraday_quotes_while_open(stock_factory, at):
    """During the session every active stock gets a quote taken now."""
    stock_factory(ticker="AAPL", quote_time=None)
    stock_factory(ticker="MSFT", quote_time=None)
    at(MONDAY_MORNING)
    assert tasks.refresh_quotes.delay().get() == 2
    aapl = Stock.objects.get(ticker="AAPL")
    assert aapl.quote_time == MONDAY_MORNING
    expected = SimulatedProvider().get_quotes(["AAPL"], at=MONDAY_MORNING)[0]
    assert aapl.price == expected.price
    assert aapl.previous_close == expected.previous_close
    assert aapl.change == expected.price - expected.previous_close


def test_refresh_quotes__does_nothing_while_closed(stock_factory, at):
    """At the weekend no provider call is made and nothing changes."""
    stock = stock_factory(ticker="AAPL")
    at(SATURDAY)
    assert tasks.refresh_quotes.delay().get() == 0
    assert Stock.objects.get(pk=stock.pk).quote_time == stock.quote_time


def test_refresh_daily_bars__loads_then_is_idempotent(stock_factory, at):
    """The first run loads a year of bars and indicators; a second run adds nothing."""
    stock_factory(ticker="AAPL", sma_50=None, rsi_14=None)
    at(MONDAY_MORNING)
    loaded = tasks.refresh_daily_bars.delay().get()
    assert 240 <= loaded <= 260
    assert PriceBar.objects.filter(stock__ticker="AAPL").latest("date").date.isoformat() == (
        "2026-11-20"
    )
    stock = Stock.objects.get(ticker="AAPL")
    assert stock.sma_50 is not None and stock.rsi_14 is not None
    assert tasks.refresh_daily_bars.delay().get() == 0


def test_simulated_provider__bars_do_not_depend_on_end_date():
    """A day's bar is the same whether generated up to that day or later."""
    provider = SimulatedProvider()
    short = provider.get_daily_bars(
        ["XOM"], datetime(2026, 6, 1).date(), datetime(2026, 6, 30).date()
    )
    long = provider.get_daily_bars(
        ["XOM"], datetime(2026, 6, 1).date(), datetime(2026, 9, 30).date()
    )
    assert short == long[: len(short)]
    assert len(long) > len(short)


def test_refresh_market_data__command_refreshes_quotes_and_bars(stock_factory, at):
    """The command runs both refreshes in-process and says what it stored."""
    from io import StringIO

    from django.core.management import call_command

    stock_factory(ticker="AAPL", quote_time=None)
    at(MONDAY_MORNING)
    out = StringIO()
    call_command("refresh_market_data", stdout=out)
    assert "Daily bars stored: " in out.getvalue()
    assert "Quotes refreshed: 1." in out.getvalue()
    assert Stock.objects.get(ticker="AAPL").quote_time == MONDAY_MORNING


def test_refresh_market_data__quotes_only_when_closed(stock_factory, at):
    """--quotes at the weekend stores nothing and says the market is closed."""
    from io import StringIO

    from django.core.management import call_command

    stock_factory(ticker="AAPL")
    at(SATURDAY)
    out = StringIO()
    call_command("refresh_market_data", "--quotes", stdout=out)
    assert "market is closed" in out.getvalue()
    assert PriceBar.objects.count() == 0


FRIDAY_BEFORE_CLOSE = datetime(2026, 11, 20, 15, 55, tzinfo=NEW_YORK)
FRIDAY_CLOSE = datetime(2026, 11, 20, 16, 0, tzinfo=NEW_YORK)


def test_refresh_quotes__closing_quote_replaces_the_last_intraday_one(stock_factory, at):
    """After the close, a stock last quoted at 15:55 gets its 16:00 closing quote, once."""
    stock_factory(ticker="AAPL", quote_time=None)
    at(FRIDAY_BEFORE_CLOSE)
    tasks.refresh_quotes.delay().get()
    at(SATURDAY)

    assert tasks.refresh_quotes.delay().get() == 1

    aapl = Stock.objects.get(ticker="AAPL")
    closing_bar = SimulatedProvider().get_daily_bars(
        ["AAPL"], FRIDAY_CLOSE.date(), FRIDAY_CLOSE.date()
    )
    assert aapl.quote_time == FRIDAY_CLOSE
    assert aapl.price == closing_bar[0].close
    assert tasks.refresh_quotes.delay().get() == 0


def test_refresh_daily_bars__each_stock_resumes_from_its_own_newest_bar(stock_factory, at):
    """A stock left a day behind (a failed chunk) is caught up; one with no bars gets a year."""
    stock_factory(ticker="AAPL")
    stock_factory(ticker="MSFT")
    at(MONDAY_MORNING)
    tasks.refresh_daily_bars.delay().get()
    PriceBar.objects.filter(stock__ticker="MSFT", date=FRIDAY_CLOSE.date()).delete()
    stock_factory(ticker="XOM")

    stored = tasks.refresh_daily_bars.delay().get()

    newest = PriceBar.objects.newest_by_ticker()
    assert {ticker: day.isoformat() for ticker, day in newest.items()} == dict.fromkeys(
        ("AAPL", "MSFT", "XOM"), "2026-11-20"
    )
    xom_bars = PriceBar.objects.filter(stock__ticker="XOM").count()
    assert 240 <= xom_bars <= 260
    assert stored == 1 + xom_bars


def test_refresh_daily_bars__a_bad_row_from_the_provider_spares_the_rest(
    stock_factory, at, monkeypatch, caplog
):
    """A bar the provider dates on a holiday is logged and dropped; every good bar is stored."""
    stock_factory(ticker="AAPL")
    stock_factory(ticker="MSFT")
    at(MONDAY_MORNING)
    real = SimulatedProvider.get_daily_bars

    def with_a_holiday_bar(self, tickers, start, end):
        bars = real(self, tickers, start, end)
        return [dataclasses.replace(bars[0], ticker="MSFT", date=date(2025, 11, 27)), *bars]

    monkeypatch.setattr(SimulatedProvider, "get_daily_bars", with_a_holiday_bar)
    stored = tasks.refresh_daily_bars.delay().get()

    assert 480 <= stored <= 520
    assert PriceBar.objects.newest_by_ticker().keys() == {"AAPL", "MSFT"}
    assert not PriceBar.objects.filter(date=date(2025, 11, 27)).exists()
    assert any("MSFT 2025-11-27: not a trading day" in r.getMessage() for r in caplog.records)
