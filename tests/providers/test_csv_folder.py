"""The csv provider: a folder of quote and bar files in the import format."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from stocks import tasks
from stocks.models import PriceBar, Stock
from stocks.providers import get_provider
from stocks.providers.base import ProviderUnavailable


@pytest.fixture
def folder(tmp_path, settings):
    settings.MARKET_DATA_PROVIDER = "csv"
    settings.MARKET_DATA_CSV_DIR = str(tmp_path)
    (tmp_path / "quotes").mkdir()
    (tmp_path / "bars").mkdir()
    return tmp_path


def test_reads_every_file_and_reports_bad_lines(folder, caplog):
    (folder / "quotes" / "a.csv").write_text(
        "ticker,price,quote_time\nAAPL,230.91,2026-11-23T16:00:00Z\nMSFT,abc,2026-11-23T16:00:00Z\n"
    )
    (folder / "quotes" / "b.csv").write_text(
        "ticker,price,quote_time,previous_close\nBRK.B,475.20,2026-11-23T16:00:00Z,477.30\n"
    )
    (folder / "bars" / "x.csv").write_text(
        "ticker,date,open,high,low,close,volume\n"
        "AAPL,2026-11-19,227,229,226,228,100\nAAPL,2026-11-20,228,230,227,229,200\n"
    )
    provider = get_provider()
    with caplog.at_level(logging.WARNING, "stocks.providers"):
        quotes = provider.get_quotes([])
    assert [(q.ticker, q.price) for q in quotes] == [
        ("AAPL", Decimal("230.91")),
        ("BRK.B", Decimal("475.20")),
    ]
    assert "a.csv line 3: price 'abc' is not a number" in caplog.text
    bars = provider.get_daily_bars(["AAPL"], date(2026, 11, 20), date(2026, 11, 20))
    assert [(b.ticker, b.date, b.close) for b in bars] == [
        ("AAPL", date(2026, 11, 20), Decimal("229"))
    ]
    assert provider.get_listings() is None


def test_missing_folder__unavailable(folder, settings):
    settings.MARKET_DATA_CSV_DIR = str(folder / "nowhere")
    with pytest.raises(ProviderUnavailable, match="is not a directory"):
        get_provider().get_quotes([])


@pytest.mark.django_db
def test_refresh_tasks_store_the_files_once(folder, stock_factory, monkeypatch):
    """Read again on every run, the same files change nothing (the ingest is idempotent)."""
    monkeypatch.setattr(tasks.timezone, "now", lambda: datetime(2026, 11, 23, 17, 0, tzinfo=UTC))
    stock_factory(ticker="AAPL", quote_time=datetime(2026, 11, 20, 21, 0, tzinfo=UTC))
    (folder / "quotes" / "q.csv").write_text(
        "ticker,price,quote_time,previous_close\nAAPL,230.91,2026-11-23T16:00:00Z,229.64\n"
    )
    (folder / "bars" / "b.csv").write_text(
        "ticker,date,open,high,low,close,volume\nAAPL,2026-11-20,228.10,230.50,227.80,229.64,41200333\n"
    )
    assert tasks.refresh_quotes.delay().get() == 1
    assert Stock.objects.get(ticker="AAPL").price == Decimal("230.9100")
    assert tasks.refresh_daily_bars.delay().get() == 1
    assert PriceBar.objects.get(stock__ticker="AAPL", date=date(2026, 11, 20)).close == Decimal(
        "229.6400"
    )
    assert tasks.refresh_quotes.delay().get() == 0
    assert tasks.refresh_daily_bars.delay().get() == 0
