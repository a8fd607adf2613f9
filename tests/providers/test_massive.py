"""The Massive provider against recorded responses of its documented endpoints and errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import requests
import responses
from django.core.exceptions import ImproperlyConfigured

from stocks.providers import get_provider
from stocks.providers.base import ProviderRefused, ProviderUnavailable
from stocks.providers.massive import MassiveProvider
from tests.support.providers import BASE, SNAPSHOT, TICKERS, grouped, recorded

FRIDAY = date(2026, 11, 20)


@pytest.fixture
def massive(settings):
    return get_provider("massive")


def _calls(http, url_prefix: str) -> list:
    return [call for call in http.calls if call.request.url.startswith(url_prefix)]


# --- the documented shapes -------------------------------------------------------------------


def test_quotes__whole_market_from_one_snapshot_call(http, massive):
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    quotes = {q.ticker: q for q in massive.get_quotes(["AAPL"])}
    assert len(http.calls) == 1
    request = http.calls[0].request
    assert request.headers["Authorization"] == "Bearer test-key"
    assert "apiKey" not in request.url and "include_otc=false" in request.url
    aapl = quotes["AAPL"]
    assert aapl.price == Decimal("230.91")  # lastTrade.p
    assert aapl.quote_time == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # `updated`, ns
    assert aapl.previous_close == Decimal("229.64")  # prevDay.c
    assert (aapl.open, aapl.day_high, aapl.day_low) == (
        Decimal("229.52"), Decimal("231.4"), Decimal("228.9"),
    )  # fmt: skip
    assert aapl.volume == 18523301
    # Every ticker of the answer comes back; which ones are stored is the task's business.
    assert {"ZZZQ", "KIMbw"} <= set(quotes)


def test_quotes__plan_without_trades_uses_the_day_close(http, massive):
    """Stocks Starter has no lastTrade: the day bar's close is the price."""
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    brk = {q.ticker: q for q in massive.get_quotes()}["BRK.B"]
    assert brk.price == Decimal("475.2")


def test_quotes__zeros_before_the_open_are_no_quote(http, massive):
    """After the 3:30 AM reset every value is 0: no price, so no quote (never a price of 0)."""
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    assert "MSFT" not in {q.ticker for q in massive.get_quotes()}


def test_quotes__bad_rows_are_left_out_not_fatal(http, massive):
    body = recorded("massive/snapshot.json")
    body["tickers"][0]["lastTrade"]["p"] = "230.91"  # a string, not a number
    body["tickers"][0]["day"]["c"] = None
    body["tickers"][0]["min"] = []
    body["tickers"].append({"ticker": 7})
    body["tickers"].append("junk")
    http.get(SNAPSHOT, json=body)
    assert "AAPL" not in {q.ticker for q in massive.get_quotes()}


def test_daily_bars__one_grouped_call_per_trading_day(http, massive):
    http.get(grouped("2026-11-20"), json=recorded("massive/grouped_daily_2026-11-20.json"))
    bars = massive.get_daily_bars(["AAPL", "BRK.B"], date(2026, 11, 21), date(2026, 11, 22))
    assert bars == [] and len(http.calls) == 0  # a weekend: no trading day, no call
    bars = massive.get_daily_bars(["AAPL", "BRK.B"], FRIDAY, FRIDAY)
    assert len(http.calls) == 1 and "adjusted=true" in http.calls[0].request.url
    by_ticker = {bar.ticker: bar for bar in bars}
    assert set(by_ticker) == {"AAPL", "BRK.B"}
    aapl = by_ticker["AAPL"]
    assert (aapl.date, aapl.open, aapl.high, aapl.low, aapl.close, aapl.volume) == (
        FRIDAY, Decimal("228.1"), Decimal("230.5"), Decimal("227.8"), Decimal("229.64"), 41200333,
    )  # fmt: skip
    assert by_ticker["BRK.B"].volume == 3300221  # a float volume in the JSON


def test_listings__every_page_followed_with_the_key_only_on_the_api_host(http, massive):
    page_one = recorded("massive/tickers_page_1.json")
    http.get(TICKERS, json=page_one, match=[responses.matchers.query_param_matcher(
        {"market": "stocks", "active": "true", "limit": "1000", "order": "asc", "sort": "ticker"}
    )])  # fmt: skip
    http.get(page_one["next_url"], json=recorded("massive/tickers_page_2.json"))
    listings = {listing.ticker: listing for listing in massive.get_listings()}
    assert len(http.calls) == 2
    assert all(c.request.headers["Authorization"] == "Bearer test-key" for c in http.calls)
    assert set(listings) == {"AAPL", "BRK.B", "MSFT", "NEWC"}  # SPY is an ETF: not kept
    assert listings["AAPL"].exchange == "NASDAQ" and listings["BRK.B"].exchange == "NYSE"
    assert listings["AAPL"].currency == "USD" and listings["AAPL"].sector is None


def test_listings__types_kept_are_a_setting(http, settings):
    settings.MASSIVE_TICKER_TYPES = ["ETF"]
    page_one = recorded("massive/tickers_page_1.json")
    http.get(TICKERS, json=page_one)
    http.get(page_one["next_url"], json=recorded("massive/tickers_page_2.json"))
    spy = get_provider("massive").get_listings()
    assert [(s.ticker, s.exchange) for s in spy] == [("SPY", "NYSE Arca")]


def test_listings__next_url_off_the_api_host_is_refused(http, massive):
    page_one = recorded("massive/tickers_page_1.json")
    page_one["next_url"] = "https://evil.example.com/v3/reference/tickers?cursor=x"
    http.get(TICKERS, json=page_one)
    with pytest.raises(ProviderRefused, match="refusing to follow"):
        massive.get_listings()
    assert [c.request.url.startswith(BASE) for c in http.calls] == [True]


def test_listings__a_repeating_next_url_stops(http, massive):
    page = recorded("massive/tickers_page_1.json")
    http.get(TICKERS, json=page)
    with pytest.raises(ProviderUnavailable, match="repeats"):
        massive.get_listings()


def test_no_key__refuses_to_start(settings):
    settings.MASSIVE_API_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="MASSIVE_API_KEY"):
        get_provider("massive")


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "body"), [(401, "error_401.json"), (403, "error_403.json")])
def test_refused__not_retried_and_says_why(http, massive, slept, status, body):
    http.get(SNAPSHOT, status=status, json=recorded(f"massive/{body}"))
    with pytest.raises(ProviderRefused) as raised:
        massive.get_quotes()
    assert len(http.calls) == 1 and slept == []
    said = recorded(f"massive/{body}")
    assert f"HTTP {status}" in str(raised.value)
    assert (said.get("error") or said["message"]) in str(raised.value)


def test_429_with_retry_after__waits_what_was_asked_then_succeeds(http, massive, slept):
    http.get(
        SNAPSHOT, status=429, json=recorded("massive/error_429.json"), headers={"Retry-After": "7"}
    )
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    assert massive.get_quotes()
    assert len(http.calls) == 2
    assert len(slept) == 1 and 7 <= slept[0] <= 7.7  # Retry-After plus at most 10 % jitter


def test_429_with_an_http_date_retry_after(http, massive, slept):
    when = datetime.now(UTC).timestamp() + 12
    header = datetime.fromtimestamp(when, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    http.get(
        SNAPSHOT,
        status=429,
        json=recorded("massive/error_429.json"),
        headers={"Retry-After": header},
    )
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    massive.get_quotes()
    assert 10 <= slept[0] <= 13.2


def test_429_without_retry_after__exponential_backoff_with_jitter(http, massive, slept):
    for _ in range(3):
        http.get(SNAPSHOT, status=429, json=recorded("massive/error_429.json"))
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    massive.get_quotes()
    assert len(http.calls) == 4 and len(slept) == 3
    for attempt, wait in enumerate(slept, start=1):
        ceiling = 2.0 * 2 ** (attempt - 1)
        assert ceiling / 2 <= wait <= ceiling


def test_429_asking_longer_than_a_worker_sleeps__goes_up_with_retry_after(http, massive, slept):
    """A long Retry-After is not slept in the worker: the task retries that much later."""
    http.get(
        SNAPSHOT,
        status=429,
        json=recorded("massive/error_429.json"),
        headers={"Retry-After": "120"},
    )
    with pytest.raises(ProviderUnavailable) as raised:
        massive.get_quotes()
    assert raised.value.retry_after == 120 and len(http.calls) == 1 and slept == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx__retried_then_unavailable(http, massive, slept, status):
    http.get(SNAPSHOT, status=status, body="<html>upstream error</html>")
    with pytest.raises(ProviderUnavailable, match=f"HTTP {status}"):
        massive.get_quotes()
    assert len(http.calls) == 4 and len(slept) == 3  # PROVIDER_MAX_ATTEMPTS


def test_503_then_success(http, massive, slept):
    http.get(
        SNAPSHOT,
        status=503,
        json={"status": "ERROR", "error": "try later"},
        headers={"Retry-After": "1"},
    )
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    assert massive.get_quotes()
    assert 1 <= slept[0] <= 1.1


@pytest.mark.parametrize(
    "error",
    [requests.exceptions.ReadTimeout("read timed out"), requests.exceptions.ConnectTimeout("x")],
)
def test_timeouts__retried_then_unavailable(http, massive, slept, error):
    http.get(SNAPSHOT, body=error)
    with pytest.raises(ProviderUnavailable, match="timed out"):
        massive.get_quotes()
    assert len(http.calls) == 4


def test_connection_refused__unavailable(http, massive, slept):
    http.get(SNAPSHOT, body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(ProviderUnavailable, match="ConnectionError"):
        massive.get_quotes()


def test_truncated_body__unavailable_and_retried(http, massive, slept):
    whole = json.dumps(recorded("massive/snapshot.json"))
    http.get(SNAPSHOT, body=whole[: len(whole) // 2], content_type="application/json")
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    assert massive.get_quotes()
    assert len(http.calls) == 2


def test_status_error_in_a_200__unavailable(http, massive, slept):
    http.get(SNAPSHOT, json={"status": "ERROR", "request_id": "x", "error": "internal"})
    with pytest.raises(ProviderUnavailable, match="internal"):
        massive.get_quotes()


def test_oversized_body__refused_before_it_is_all_read(http, massive, slept, settings):
    settings.PROVIDER_MAX_RESPONSE_BYTES = 1000
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    with pytest.raises(ProviderUnavailable, match="over 1000 bytes"):
        massive.get_quotes()


def test_redirect__not_followed(http, massive, slept):
    """A redirect could carry the Authorization header elsewhere: it is a refusal."""
    http.get(SNAPSHOT, status=302, headers={"Location": "https://elsewhere.example.com/"})
    with pytest.raises(ProviderRefused, match="HTTP 302"):
        massive.get_quotes()
    assert len(http.calls) == 1


def test_base_url_is_a_setting(http, settings):
    settings.MASSIVE_API_URL = "http://127.0.0.1:9999/"
    http.get(
        "http://127.0.0.1:9999/v2/snapshot/locale/us/markets/stocks/tickers",
        json={"status": "OK", "tickers": []},
    )
    provider = get_provider("massive")
    assert isinstance(provider, MassiveProvider) and provider.get_quotes() == []


# --- outside the regular session: the close, never an extended-hours trade -----------------------


def _at(body: dict, moment: datetime) -> dict:
    for row in body["tickers"]:
        row["updated"] = int(moment.timestamp() * 1e9)
    return body


def test_quotes__after_the_close_the_session_close_stamped_at_the_close(http, massive):
    """At 5 PM New York the last trade is an after-hours print: the day bar's close is the close."""
    body = _at(recorded("massive/snapshot.json"), datetime(2026, 11, 23, 22, 0, tzinfo=UTC))
    http.get(SNAPSHOT, json=body)
    aapl = {q.ticker: q for q in massive.get_quotes()}["AAPL"]
    assert aapl.price == Decimal("230.88")  # day.c, not lastTrade.p 230.91
    assert aapl.quote_time == datetime(2026, 11, 23, 21, 0, tzinfo=UTC)  # 16:00 New York
    assert aapl.previous_close == Decimal("229.64")


def test_quotes__after_the_reset_the_previous_day_is_the_last_close(http, massive):
    """From 3:30 AM the snapshot's day is zeros: prevDay is the session that last closed."""
    body = _at(recorded("massive/snapshot.json"), datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    for row in body["tickers"]:
        row["day"] = {"o": 0, "h": 0, "l": 0, "c": 0, "v": 0, "vw": 0}
    http.get(SNAPSHOT, json=body)
    quotes = {q.ticker: q for q in massive.get_quotes()}
    msft = quotes["MSFT"]  # no trade yet today, still quoted: at Monday's close
    assert msft.price == Decimal("415.2")
    assert msft.quote_time == datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
    assert msft.previous_close is None  # not in a reset snapshot: ingest derives it


def test_quotes__a_weekend_snapshot_is_fridays_close(http, massive):
    body = _at(recorded("massive/snapshot.json"), datetime(2026, 11, 21, 15, 0, tzinfo=UTC))
    http.get(SNAPSHOT, json=body)
    aapl = {q.ticker: q for q in massive.get_quotes()}["AAPL"]
    assert aapl.quote_time == datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
    assert aapl.price == Decimal("229.64")  # prevDay.c


def test_daily_bars__one_stocks_history_in_one_call(http, massive):
    http.get(
        BASE + "/v2/aggs/ticker/AAPL/range/1/day/2026-11-18/2026-11-20",
        json=recorded("massive/aggs_ticker_AAPL_2026-11-18_2026-11-20.json"),
    )
    bars = massive.get_daily_bars(["AAPL"], date(2026, 11, 18), FRIDAY)
    assert len(http.calls) == 1 and "adjusted=true" in http.calls[0].request.url
    assert [(b.date, b.close, b.volume) for b in bars] == [
        (date(2026, 11, 18), Decimal("228.02"), 39872100),
        (date(2026, 11, 19), Decimal("228.95"), 40100200),
        (FRIDAY, Decimal("229.64"), 41200333),
    ]


def test_daily_bars__a_class_share_is_escaped_in_the_path(http, massive):
    http.get(
        BASE + "/v2/aggs/ticker/BRK.B/range/1/day/2026-11-18/2026-11-20",
        json={"ticker": "BRK.B", "status": "OK", "results": []},
    )
    assert massive.get_daily_bars(["BRK.B"], date(2026, 11, 18), FRIDAY) == []


def test_listings__what_the_reference_does_not_say_is_unknown(http, massive):
    page = recorded("massive/tickers_page_2.json")
    page["results"][1].pop("primary_exchange")
    http.get(TICKERS, json=page)
    newc = {listing.ticker: listing for listing in massive.get_listings()}["NEWC"]
    assert newc.exchange is None and newc.country is None  # kept as stored, never blanked


@pytest.mark.parametrize("header", ["inf", "nan", "-5", "soon"])
def test_unusable_retry_after__ordinary_backoff(http, massive, slept, header):
    http.get(
        SNAPSHOT,
        status=429,
        json=recorded("massive/error_429.json"),
        headers={"Retry-After": header},
    )
    http.get(SNAPSHOT, json=recorded("massive/snapshot.json"))
    massive.get_quotes()
    assert len(slept) == 1 and slept[0] <= 2.0  # the first backoff (or 0 for "-5")
