"""
The Massive REST API (formerly Polygon.io): https://massive.com/docs/rest/stocks

- quotes, the whole market in one call: full market snapshot,
  ``GET /v2/snapshot/locale/us/markets/stocks/tickers``. Per ticker: ``lastTrade.p`` (the
  price; ``day.c`` on plans without trades), ``updated`` (nanoseconds: the quote time),
  ``prevDay.c`` (the previous close), ``day`` o/h/l/v (the session so far). Outside the
  regular session the quote is the last session's close (``snapshot_quote``). The snapshot
  is cleared at 3:30 AM Eastern and ``day`` holds zeros until the open: zero means unknown
  here, and a ticker with no price at all is left out.
- daily bars, the whole market one day per call: grouped daily aggregates,
  ``GET /v2/aggs/grouped/locale/us/market/stocks/{date}`` (``T`` ticker, ``o h l c v``,
  ``t`` the window's timestamp); one stock's history in one call: custom bars,
  ``GET /v2/aggs/ticker/{ticker}/range/1/day/{from}/{to}``. Split-adjusted as of the day
  they are fetched (bars stored before a split are not adjusted again).
- listings: reference tickers, ``GET /v3/reference/tickers?market=stocks&active=true``,
  1,000 a page, paged by ``next_url`` (followed only on the configured host: the key is
  never sent anywhere else). Only the types in ``MASSIVE_TICKER_TYPES`` are kept.

The key goes in ``Authorization: Bearer``. Every request goes through ``calls.call`` (the
endpoint's breaker, the shared rate, retries). 401, 403 and other 4xx are refused; 429,
5xx, timeouts, connection errors, unreadable or truncated bodies are worth retrying, with
the provider's ``Retry-After`` when it sends one.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..market_calendar import MarketCalendar, get_calendar
from . import calls
from .base import Bar, Listing, ProviderRefused, ProviderUnavailable, Quote

logger = logging.getLogger("stocks.providers")

SNAPSHOT_PATH = "/v2/snapshot/locale/us/markets/stocks/tickers"
GROUPED_DAILY_PATH = "/v2/aggs/grouped/locale/us/market/stocks/{day}"
TICKER_RANGE_PATH = "/v2/aggs/ticker/{ticker}/range/1/day/{start}/{end}"
RANGE_LIMIT = 50000  # the endpoint's maximum: 200 years of daily bars, one page
TICKERS_PATH = "/v3/reference/tickers"
PAGE_LIMIT = 1000
MAX_PAGES = 200  # 200,000 tickers: far past the US market; a loop of next_url stops here
CHUNK_BYTES = 64 * 1024

# Massive's primary_exchange is an ISO 10383 MIC; the app stores the names members know.
EXCHANGES = {
    "XNYS": "NYSE",
    "XNAS": "NASDAQ",
    "XASE": "NYSE American",
    "ARCX": "NYSE Arca",
    "BATS": "Cboe BZX",
    "XCHI": "NYSE Chicago",
    "IEXG": "IEX",
}


def _decimal(value: Any) -> Decimal | None:
    """A positive price from JSON, else None (zeros stand for "not yet" in the snapshot)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:  # inf / nan
        return None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None
    try:
        return round(value)
    except (OverflowError, ValueError):
        return None


def _from_nanoseconds(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value / 1e9, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _retry_after(response: requests.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), None if absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _message(body: bytes) -> str:
    """What the provider said, from its JSON error body (``error`` or ``message``)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    if isinstance(payload, dict):
        return str(payload.get("error") or payload.get("message") or payload.get("status"))[:200]
    return ""


class MassiveProvider:
    name = "massive"
    market_wide = True

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = (base_url or settings.MASSIVE_API_URL).rstrip("/")
        self.api_key = api_key or settings.MASSIVE_API_KEY
        if not self.api_key:
            raise ImproperlyConfigured("MARKET_DATA_PROVIDER=massive needs MASSIVE_API_KEY.")
        self._origin = urlsplit(self.base_url)[:2]
        self.session = session or requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {self.api_key}",
                "Accept": "application/json",
                "User-Agent": "stockscanner",
            }
        )

    # --- HTTP ---------------------------------------------------------------------------

    def _get(
        self, url: str, params: dict[str, Any] | None, *, endpoint: str, what: str
    ) -> dict[str, Any]:
        if urlsplit(url)[:2] != self._origin:
            raise ProviderRefused(f"{what}: refusing to follow {url!r} off {self.base_url}")
        return calls.call(
            self.name, lambda: self._request(url, params, what), endpoint=endpoint, what=what
        )

    def _request(self, url: str, params: dict[str, Any] | None, what: str) -> dict[str, Any]:
        timeout = (settings.PROVIDER_CONNECT_TIMEOUT_SECONDS, settings.PROVIDER_TIMEOUT_SECONDS)
        try:
            with self.session.get(
                url, params=params, timeout=timeout, stream=True, allow_redirects=False
            ) as response:
                body = self._read(response, what)
        except requests.Timeout as exc:
            raise ProviderUnavailable(f"{what}: timed out ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            # No connection, a reset, a body shorter than its Content-Length.
            raise ProviderUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise ProviderUnavailable(
                f"{what}: HTTP {status} {_message(body)}", retry_after=_retry_after(response)
            )
        if status != 200:
            raise ProviderRefused(f"{what}: HTTP {status} {_message(body)}")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise ProviderUnavailable(f"{what}: unreadable JSON ({exc})") from exc
        if not isinstance(payload, dict):
            raise ProviderUnavailable(f"{what}: expected a JSON object")
        if str(payload.get("status", "OK")).upper() == "ERROR":
            raise ProviderUnavailable(f"{what}: {_message(body)}")
        return payload

    @staticmethod
    def _read(response: requests.Response, what: str) -> bytes:
        """The body, no larger than PROVIDER_MAX_RESPONSE_BYTES (decompressed)."""
        limit = settings.PROVIDER_MAX_RESPONSE_BYTES
        body = bytearray()
        for chunk in response.iter_content(CHUNK_BYTES):
            body += chunk
            if len(body) > limit:
                raise ProviderUnavailable(f"{what}: response over {limit} bytes")
        return bytes(body)

    # --- quotes -------------------------------------------------------------------------

    def get_quotes(self, tickers: Sequence[str] = ()) -> list[Quote]:
        """The whole market (``tickers`` is not sent: one call costs the same)."""
        payload = self._get(
            self.base_url + SNAPSHOT_PATH,
            {"include_otc": "false"},
            endpoint="quotes",
            what="full market snapshot",
        )
        rows = payload.get("tickers") or []
        calendar = get_calendar()
        quotes = [q for row in rows if (q := snapshot_quote(row, calendar)) is not None]
        if len(quotes) < len(rows):
            logger.info(
                "massive snapshot: %d of %d tickers had no price",
                len(rows) - len(quotes),
                len(rows),
            )
        return quotes

    # --- daily bars ---------------------------------------------------------------------

    def get_daily_bars(self, tickers: Sequence[str], start: date, end: date) -> list[Bar]:
        """
        One ticker over several days: its whole range in one call (custom bars). Else every
        trading day from ``start`` to ``end``, one grouped-daily call each (the whole market).
        """
        if len(tickers) == 1 and start < end:
            return self.ticker_range(tickers[0], start, end)
        wanted = set(tickers)
        bars: list[Bar] = []
        for day in get_calendar().trading_days(start, end):
            bars.extend(
                bar for bar in self.grouped_daily(day) if not wanted or bar.ticker in wanted
            )
        return bars

    def grouped_daily(self, day: date) -> list[Bar]:
        payload = self._get(
            self.base_url + GROUPED_DAILY_PATH.format(day=day.isoformat()),
            {"adjusted": "true", "include_otc": "false"},
            endpoint="bars",
            what=f"grouped daily {day}",
        )
        return [bar for row in payload.get("results") or [] if (bar := grouped_bar(row, day))]

    def ticker_range(self, ticker: str, start: date, end: date) -> list[Bar]:
        payload = self._get(
            self.base_url
            + TICKER_RANGE_PATH.format(
                ticker=quote(ticker, safe=""), start=start.isoformat(), end=end.isoformat()
            ),
            {"adjusted": "true", "sort": "asc", "limit": RANGE_LIMIT},
            endpoint="bars",
            what=f"daily bars of {ticker} {start}..{end}",
        )
        tz = get_calendar().tz
        return [
            bar
            for row in payload.get("results") or []
            if (bar := range_bar(ticker, row, tz)) and start <= bar.date <= end
        ]

    # --- listings -----------------------------------------------------------------------

    def get_listings(self) -> list[Listing]:
        """Every active listing of the kept types, all pages (a failed page fails it all)."""
        types = set(settings.MASSIVE_TICKER_TYPES)
        return [
            listing
            for row in self._pages(
                self.base_url + TICKERS_PATH,
                {
                    "market": "stocks",
                    "active": "true",
                    "limit": PAGE_LIMIT,
                    "order": "asc",
                    "sort": "ticker",
                },
            )
            if (not types or row.get("type") in types) and (listing := reference_listing(row))
        ]

    def _pages(self, url: str, params: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        for page in range(1, MAX_PAGES + 1):
            payload = self._get(
                url, params, endpoint="listings", what=f"reference tickers page {page}"
            )
            yield from (row for row in payload.get("results") or [] if isinstance(row, dict))
            url, params = payload.get("next_url"), None
            if not url:
                return
            if url in seen:
                raise ProviderUnavailable(f"reference tickers: next_url repeats ({url})")
            seen.add(url)
        raise ProviderUnavailable(f"reference tickers: more than {MAX_PAGES} pages")


# --- the documented shapes, one row at a time ----------------------------------------------


def snapshot_quote(row: Any, calendar: MarketCalendar | None = None) -> Quote | None:
    """
    One ``tickers[]`` item of the full market snapshot, or None if it has no price yet.

    While the regular session is open: the last trade. Outside it, the session's close, as
    the closing quote of the session that last closed, stamped at its close: ``day.c`` the
    same evening (an after-hours trade is never taken for the close), ``prevDay.c`` once the
    snapshot has been reset for the next day (from 3:30 AM Eastern, weekends included).
    """
    if not isinstance(row, dict) or not isinstance(row.get("ticker"), str):
        return None
    calendar = calendar or get_calendar()
    day, previous, trade, minute = (
        row.get(k) if isinstance(row.get(k), dict) else {}
        for k in ("day", "prevDay", "lastTrade", "min")
    )
    updated = _from_nanoseconds(row.get("updated")) or _from_nanoseconds(trade.get("t"))
    if updated is None:
        return None
    if calendar.is_open(updated):
        price = _decimal(trade.get("p")) or _decimal(day.get("c")) or _decimal(minute.get("c"))
        return _bar_quote(row["ticker"], price, updated, day, _decimal(previous.get("c")))
    session = calendar.last_completed_session(updated)
    closed_at = calendar.session(session)[1]
    if updated.astimezone(calendar.tz).date() == session and _decimal(day.get("c")):
        return _bar_quote(
            row["ticker"], _decimal(day.get("c")), closed_at, day, _decimal(previous.get("c"))
        )
    # The previous close of that session is not in a reset snapshot: ingest derives it.
    return _bar_quote(row["ticker"], _decimal(previous.get("c")), closed_at, previous, None)


def _bar_quote(
    ticker: str, price: Decimal | None, at: datetime, bar: dict, previous_close: Decimal | None
) -> Quote | None:
    """A quote at ``price``, its session's open/high/low/volume from ``bar`` (o h l v)."""
    if price is None:
        return None
    return Quote(
        ticker=ticker,
        price=price,
        quote_time=at,
        previous_close=previous_close,
        open=_decimal(bar.get("o")),
        day_high=_decimal(bar.get("h")),
        day_low=_decimal(bar.get("l")),
        volume=_count(bar.get("v")),
    )


def grouped_bar(row: Any, day: date) -> Bar | None:
    """
    One ``results[]`` item of grouped daily aggregates for ``day`` (the day asked for: ``t``
    is the window's timestamp, which the documentation's examples give at the close).
    """
    if not isinstance(row, dict) or not isinstance(row.get("T"), str):
        return None
    values = [_decimal(row.get(k)) for k in ("o", "h", "l", "c")]
    volume = row.get("v")
    if any(v is None for v in values) or not isinstance(volume, int | float) or volume < 0:
        return None
    open_, high, low, close = values
    return Bar(row["T"], day, open_, high, low, close, round(volume))


def range_bar(ticker: str, row: Any, tz) -> Bar | None:
    """One ``results[]`` item of custom daily bars: ``t`` opens the day (ms, Eastern midnight)."""
    started = row.get("t") if isinstance(row, dict) else None
    if not isinstance(started, int) or isinstance(started, bool):
        return None
    try:
        day = datetime.fromtimestamp(started / 1000, tz=UTC).astimezone(tz).date()
    except (OverflowError, OSError, ValueError):
        return None
    return grouped_bar({**row, "T": ticker}, day)


def reference_listing(row: dict[str, Any]) -> Listing | None:
    ticker, name = row.get("ticker"), row.get("name")
    if not isinstance(ticker, str) or not isinstance(name, str) or not name.strip():
        return None
    mic = row.get("primary_exchange")
    currency = row.get("currency_name")
    # What the reference does not say is None: the stored value stays (a company's country
    # is not its market's: an ADR trades in the US).
    return Listing(
        ticker=ticker,
        name=name,
        exchange=EXCHANGES.get(mic, mic) if isinstance(mic, str) and mic else None,
        currency=currency.upper() if isinstance(currency, str) and currency else None,
        country=None,
        sector=None,
        industry=None,
    )
