"""
One representation of a stock row, whichever path produced it.

Prices are JSON numbers with their stored precision (12.3400 is ``12.34``), integers are
integers, timestamps are RFC 3339 in UTC, always with six fractional digits
(``2026-12-01T15:30:00.000000Z``: one form a strict parser can be given), and
every row carries ``as_of`` and ``is_stale``. The SQL screen renders value rows read
from the database, the engine renders columns gathered from its snapshot; both go
through the converters here, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .fields import BY_NAME, LIST_FIELDS, Kind

RFC3339 = "%Y-%m-%dT%H:%M:%S.%fZ"


def timestamp(moment: datetime | None) -> str | None:
    """The API's one timestamp form."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime(RFC3339)


def number(value: Decimal | None) -> float | None:
    """A stored decimal as a JSON number: the nearest double prints as the decimal."""
    return None if value is None else float(value)


def public_value(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind is Kind.DECIMAL:
        return number(value)
    if kind is Kind.DATETIME:
        return timestamp(value)
    return value


def render_values(
    rows: Iterable[Mapping[str, Any]], fields: tuple[str, ...] | None, stale_before: datetime
) -> list[dict[str, Any]]:
    """Public rows from database value rows (keyed by column), in the order given."""
    names = fields or LIST_FIELDS
    plan = [
        (name, BY_NAME[name].column, BY_NAME[name].kind) if name in BY_NAME else (name, "", None)
        for name in names
    ]
    rendered = []
    for row in rows:
        out = {}
        for name, column, kind in plan:  # in the order asked for, as the engine renders
            if kind is None:  # is_stale
                quoted = row["quote_time"]
                out[name] = quoted is None or quoted < stale_before
            else:
                out[name] = public_value(kind, row[column])
        rendered.append(out)
    return rendered
