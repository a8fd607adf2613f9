"""
The bodies of the single-stock and market endpoints, built from value rows.

Each reads exactly the columns it renders with one query (``.values()``), and renders
them with the screen's converters (``stocks.screen.rows``), so a price, a timestamp or a
staleness flag reads the same on every endpoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import indicators
from ..errors import TickerNotFound
from ..models import Stock
from ..querysets import LIST_COLUMNS
from ..screen import lookup, snapshots
from ..screen.fields import LIST_FIELDS
from ..screen.rows import number, render_values

# Quote and indicator columns the detail adds to a list row (decimals, as JSON numbers).
DETAIL_EXTRA = ("open", "day_high", "day_low", "previous_close", "eps", "sma_20")
DETAIL_FIELDS = (*LIST_FIELDS, *DETAIL_EXTRA, "trend", "volatility_label")
REALTIME_FIELDS = (
    "ticker", "name", "price", "change", "change_percent", "volume", "as_of", "is_stale",
)  # fmt: skip
REALTIME_EXTRA = ("open", "day_high", "day_low", "previous_close")


def _one(ticker: str, columns: tuple[str, ...]) -> dict[str, Any]:
    row = Stock.objects.active().filter(ticker=ticker).values(*columns).first()
    if row is None:
        raise TickerNotFound(ticker)
    return row


def stock_id(ticker: str) -> int:
    return _one(ticker, ("id",))["id"]


def detail(ticker: str, stale_before: datetime) -> dict[str, Any]:
    row = _one(ticker, (*LIST_COLUMNS, *DETAIL_EXTRA))
    body = render_values([row], None, stale_before)[0]
    body.update({name: number(row[name]) for name in DETAIL_EXTRA})
    body["trend"] = indicators.trend(
        *(None if row[c] is None else float(row[c]) for c in ("price", "sma_50", "sma_200"))
    )
    body["volatility_label"] = indicators.volatility_label(row["volatility_30d"])
    return body


def realtime(ticker: str, stale_before: datetime, market_open: bool) -> dict[str, Any]:
    row = _one(ticker, (*LIST_COLUMNS, *REALTIME_EXTRA))
    body = render_values([row], REALTIME_FIELDS, stale_before)[0]
    body.update({name: number(row[name]) for name in REALTIME_EXTRA})
    body["market_open"] = market_open
    return body


def search(q: str, limit: int, version: int | None, stale_before: datetime) -> list[dict[str, Any]]:
    """On the engine's snapshot of data ``version`` when there is one, else SQL."""
    snapshot = snapshots.current(version)
    if snapshot is not None:
        return lookup.search(snapshot, q, limit, stale_before)
    hits = Stock.objects.search_values(q, limit)
    rendered = render_values(hits, None, stale_before)
    return [{"match": hit["match"], **row} for hit, row in zip(hits, rendered, strict=True)]


def movers(kind: str, limit: int, stale_before: datetime) -> list[dict[str, Any]]:
    return render_values(Stock.objects.movers(kind, limit), None, stale_before)


def bars(rows: list[dict]) -> list[dict[str, Any]]:
    return [
        {
            "date": bar["date"].isoformat(),
            "open": number(bar["open"]),
            "high": number(bar["high"]),
            "low": number(bar["low"]),
            "close": number(bar["close"]),
            "volume": bar["volume"],
        }
        for bar in rows
    ]
