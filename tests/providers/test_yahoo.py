"""
The Yahoo provider against a faked ``yfinance.download``: frames shaped as yfinance returns
them for ``group_by="ticker"`` (columns ``(ticker, field)``; a daily index without a time
zone, a 1-minute index in the exchange's), built with the real pandas; no network.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

pd = pytest.importorskip("pandas")
yfinance = pytest.importorskip("yfinance")

from stocks.providers import get_provider  # noqa: E402
from stocks.providers.base import ProviderUnavailable  # noqa: E402

FIELDS = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]


def frame(rows: dict[str, list[tuple]], index) -> pd.DataFrame:
    """``rows``: symbol -> one (open, high, low, close, adj close, volume) per index entry."""
    columns = pd.MultiIndex.from_tuples(
        [(symbol, field) for symbol in rows for field in FIELDS], names=["Ticker", "Price"]
    )
    data = [[value for symbol in rows for value in rows[symbol][i]] for i in range(len(index))]
    return pd.DataFrame(data, index=index, columns=columns)


@pytest.fixture
def downloads(monkeypatch):
    """Replace yfinance.download: answers queued by the test, calls recorded."""
    answers: list = []
    calls: list[dict] = []

    def download(tickers, **kwargs):
        calls.append({"tickers": list(tickers), **kwargs})
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(yfinance, "download", download)
    return answers, calls


DAYS = pd.DatetimeIndex(["2026-11-19", "2026-11-20"], name="Date")
MINUTES = pd.DatetimeIndex(["2026-11-20 15:58", "2026-11-20 15:59"], name="Datetime").tz_localize(
    "America/New_York"
)


def test_daily_bars__batch_download_mapped_to_bars(downloads, provider_settings):
    answers, calls = downloads
    answers.append(
        frame(
            {
                "AAPL": [
                    (228.0, 229.9, 227.1, 229.5, 228.7, 40e6),
                    (228.1, 230.5, 227.8, 229.64, 229.0, 41200333),
                ],
                "BRK-B": [(476.0, 479.0, 474.0, 477.3, 477.3, 3300221), (float("nan"),) * 6],
            },
            DAYS,
        )
    )
    bars = get_provider("yahoo").get_daily_bars(
        ["AAPL", "BRK.B"], date(2026, 11, 19), date(2026, 11, 20)
    )
    (call,) = calls
    assert call["tickers"] == ["AAPL", "BRK-B"]  # Yahoo's spelling of a class share
    assert (call["start"], call["end"], call["interval"]) == ("2026-11-19", "2026-11-21", "1d")
    assert call["group_by"] == "ticker" and call["auto_adjust"] is False
    by_key = {(b.ticker, b.date): b for b in bars}
    assert set(by_key) == {
        ("AAPL", date(2026, 11, 19)),
        ("AAPL", date(2026, 11, 20)),
        ("BRK.B", date(2026, 11, 19)),
    }
    aapl = by_key[("AAPL", date(2026, 11, 20))]
    assert (aapl.open, aapl.close, aapl.volume) == (Decimal("228.1"), Decimal("229.64"), 41200333)


def test_quotes__last_minute_bar_is_the_price(downloads, provider_settings):
    answers, calls = downloads
    answers.append(
        frame(
            {
                "AAPL": [
                    (229.5, 229.8, 229.4, 229.7, 229.7, 120000),
                    (229.7, 229.9, 229.6, 229.64, 229.64, 350000),
                ],
                "MSFT": [(float("nan"),) * 6, (float("nan"),) * 6],
            },
            MINUTES,
        )
    )
    (quote,) = get_provider("yahoo").get_quotes(["AAPL", "MSFT"])
    assert (calls[0]["period"], calls[0]["interval"]) == ("1d", "1m")
    assert quote.ticker == "AAPL" and quote.price == Decimal("229.64")
    assert quote.quote_time == datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # 15:59 bar ends 16:00
    assert (quote.open, quote.day_high, quote.day_low, quote.volume) == (
        Decimal("229.5"), Decimal("229.9"), Decimal("229.4"), 470000,
    )  # fmt: skip
    assert quote.previous_close is None  # derived by ingest from the stored bars


def test_a_failed_download__unavailable_and_retried(downloads, provider_settings, slept):
    answers, calls = downloads
    answers.extend([RuntimeError("YFRateLimitError: Too Many Requests")] * 4)
    with pytest.raises(ProviderUnavailable, match="Too Many Requests"):
        get_provider("yahoo").get_quotes(["AAPL"])
    assert len(calls) == 4 and len(slept) == 3  # PROVIDER_MAX_ATTEMPTS, with backoff between


def test_nothing_for_several_tickers__an_outage(downloads, provider_settings, slept):
    """yfinance turns a rate limit into empty columns for every ticker: that is an outage."""
    answers, calls = downloads
    answers.extend([pd.DataFrame()] * 4)
    with pytest.raises(ProviderUnavailable, match="no data for any of 2 tickers"):
        get_provider("yahoo").get_quotes(["AAPL", "MSFT"])
    assert len(calls) == 4


def test_nothing_for_one_ticker__an_empty_answer_not_an_outage(downloads, provider_settings, slept):
    """A delisted ticker alone in its chunk after the close: no outage, no breaker."""
    from stocks.providers.breaker import CircuitBreaker

    answers, calls = downloads
    answers.extend([pd.DataFrame()] * 6)
    for _ in range(6):
        assert get_provider("yahoo").get_quotes(["GONE"]) == []
    assert len(calls) == 6 and slept == []
    assert CircuitBreaker("yahoo", "quotes").state().state == "closed"


def test_the_soft_time_limit_is_not_yahoos_failure(downloads, provider_settings, slept):
    from celery.exceptions import SoftTimeLimitExceeded

    from stocks.providers.breaker import CircuitBreaker

    answers, calls = downloads
    answers.append(SoftTimeLimitExceeded())
    with pytest.raises(SoftTimeLimitExceeded):
        get_provider("yahoo").get_quotes(["AAPL", "MSFT"])
    assert len(calls) == 1 and CircuitBreaker("yahoo", "quotes").state().failures == 0


def test_without_yfinance__a_clear_error(monkeypatch, provider_settings):
    import sys

    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setitem(sys.modules, "yfinance", None)
    with pytest.raises(ImproperlyConfigured, match=r"requirements-yahoo\.txt"):
        get_provider("yahoo")
