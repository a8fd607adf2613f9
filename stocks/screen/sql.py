"""
The SQL screen: the registry's filters and orderings as Django query expressions.

This is the reference the in-memory engine is proved against, and the fallback while no
snapshot is available (cold start, build failure, ``SCREEN_ENGINE=sql``). ``StockQuerySet``
exposes it as ``.screen(criteria)`` and ``.ordered(sort)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import BooleanField, F, Func, OrderBy, Q
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThanOrEqual

from .fields import BY_NAME, FILTERS, Kind, Op


def inward(op: Op, value: Decimal) -> int:
    """A bound on whole numbers, rounded inward: >= 1.5 is >= 2, <= 1.5 is <= 1."""
    return math.ceil(value) if op is Op.GTE else math.floor(value)


def _bound(kind: Kind, op: Op, value: Decimal) -> Any:
    if kind is Kind.INTEGER:
        # Django truncates a Decimal bound on an integer column (volume >= 1.5 would run as
        # volume >= 1), so round each bound inward ourselves.
        return inward(op, value)
    if kind is Kind.FLOAT:
        return float(value)
    return value


class Likely(Func):
    """
    SQLite's ``likely(X)``: X, marked as usually true. SQLite keeps no statistics of value
    ranges (no STAT4 in the usual builds), so for ``price >= 10 ORDER BY market_cap DESC
    LIMIT 50`` it reads every match through the price index and sorts them (140 ms at
    62,000 of 100,000 rows). Told the range is wide, it walks the market-cap index and
    stops at the 50th match (0.1 ms). The value compared is unchanged. Other databases
    estimate ranges from their own statistics: there it is just X.
    """

    function = "likely"
    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, **extra_context)


def condition(param: str, value: Any, *, likely: bool = False) -> Q:
    """
    The WHERE condition of one parsed filter; ``likely`` marks a range or an exact match as
    matching most rows (SQLite only: see ``Likely``).
    """
    flt = FILTERS[param]
    field = BY_NAME[flt.field]
    column = field.column
    if flt.op in (Op.GTE, Op.LTE):
        bound = _bound(field.kind, flt.op, value)
        if likely:
            lookup = GreaterThanOrEqual if flt.op is Op.GTE else LessThanOrEqual
            return Q(Likely(lookup(F(column), bound)))
        return Q(**{f"{column}__{'gte' if flt.op is Op.GTE else 'lte'}": bound})
    if flt.op is Op.EXACT:
        return Q(Likely(Exact(F(column), value))) if likely else Q(**{column: value})
    if flt.op is Op.IN:
        return Q(**{f"{column}__in": value})
    if flt.op is Op.PRICE_ABOVE:
        return Q(price__gt=F(column)) if value else Q(price__lte=F(column))
    if flt.op is Op.PRICE_NEAR:
        factor = 1 - Decimal(value) / 100
        return Q(**{f"{column}__isnull": False}, price__gte=F(column) * factor)
    raise AssertionError(f"unhandled operator {flt.op}")


def where(criteria: Iterable[tuple[str, Any]], *, likely: bool = False) -> Q:
    q = Q()
    for param, value in criteria:
        q &= condition(param, value, likely=likely)
    return q


def walk_the_ordering(matching: int, rows: int, wanted: int) -> bool:
    """
    Whether reading the ordering's index until ``wanted`` matches are found beats reading
    and sorting all ``matching`` rows, whatever the data: however the matches fall along
    the ordering (a filter correlated with it puts them all at the far end), the walk
    passes at most the ``rows - matching`` others before its ``wanted`` matches, which is
    no more than ``matching`` once at least half the rows (and the page) match.
    """
    return matching > wanted and 2 * matching >= rows + wanted


def order_by(field: str, descending: bool) -> list[OrderBy]:
    """Nulls last in both directions, on every backend, then ticker in the same direction."""
    column = BY_NAME[field].column
    primary = F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True)
    if field == "ticker":
        return [primary]
    return [primary, F("ticker").desc() if descending else F("ticker").asc()]


def reversed_order_by(field: str, descending: bool) -> list[OrderBy]:
    """The same order read backwards (nulls first), for the rows before a cursor."""
    column = BY_NAME[field].column
    if field == "ticker":
        return [F("ticker").asc() if descending else F("ticker").desc()]
    primary = F(column).asc(nulls_first=True) if descending else F(column).desc(nulls_first=True)
    return [primary, F("ticker").asc() if descending else F("ticker").desc()]


def after(field: str, descending: bool, value: Any, ticker: str) -> Q:
    """Rows after (value, ticker) in the order of ``field`` (nulls last, ticker tiebreak)."""
    column = BY_NAME[field].column
    beyond = "lt" if descending else "gt"
    if field == "ticker":
        return Q(**{f"ticker__{beyond}": ticker})
    if value is None:
        return Q(**{f"{column}__isnull": True, f"ticker__{beyond}": ticker})
    return (
        Q(**{f"{column}__{beyond}": value})
        | Q(**{column: value, f"ticker__{beyond}": ticker})
        | Q(**{f"{column}__isnull": True})
    )


def before(field: str, descending: bool, value: Any, ticker: str) -> Q:
    """Rows before (value, ticker) in the same order."""
    column = BY_NAME[field].column
    behind = "gt" if descending else "lt"
    if field == "ticker":
        return Q(**{f"ticker__{behind}": ticker})
    if value is None:
        return Q(**{f"{column}__isnull": False}) | Q(
            **{f"{column}__isnull": True, f"ticker__{behind}": ticker}
        )
    return Q(**{f"{column}__{behind}": value}) | Q(**{column: value, f"ticker__{behind}": ticker})
