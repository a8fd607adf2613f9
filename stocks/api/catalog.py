"""
The screen's catalog (``/api/stocks/fields/``): every filter and ordering with its type,
unit and operator, and the sectors, industries and exchanges that exist, with counts.
Built from the filterset itself, so it cannot drift from what the screen accepts.
"""

from __future__ import annotations

from django_filters import rest_framework as filters

from ..models import Stock
from ..querysets import DEFAULT_ORDERING, ORDERING_FIELDS
from .filters import StockFilterSet, StrictBooleanFilter, TickerListFilter

UNITS = {
    "price": "USD",
    "change": "USD",
    "change_percent": "percent",
    "volume": "shares",
    "avg_volume_30d": "shares",
    "market_cap": "USD",
    "pe_ratio": "ratio",
    "dividend_yield": "percent",
    "beta": "ratio",
    "rsi_14": "index (0-100)",
    "volatility_30d": "fraction (annualised)",
    "near_52w_high": "percent",
}
OPERATORS = {"gte": ">=", "lte": "<=", "in": "in", "exact": "="}
FACETS = {
    "sector": "sectors",
    "industry": "industries",
    "exchange": "exchanges",
    "country": "countries",
}


def _filter_type(flt: filters.Filter) -> str:
    if isinstance(flt, TickerListFilter):
        return "list[ticker]"
    if isinstance(flt, StrictBooleanFilter):
        return "boolean"
    if isinstance(flt, filters.NumberFilter):
        return "number"
    return "string"


def filter_catalog() -> list[dict]:
    entries = []
    for name, flt in StockFilterSet.base_filters.items():
        if name == "ordering":
            continue
        operator = OPERATORS.get(flt.lookup_expr, flt.lookup_expr)
        if name.startswith("above_sma"):
            operator = "price > field (true) / price <= field (false)"
        elif name == "near_52w_high":
            operator = "price >= week52_high * (1 - value/100)"
        entries.append(
            {
                "name": name,
                "field": flt.field_name or name,
                "type": _filter_type(flt),
                "unit": UNITS.get(name, UNITS.get(flt.field_name)),
                "operator": operator,
                "description": str(flt.label or ""),
            }
        )
    return entries


def ordering_catalog() -> dict:
    return {
        "default": DEFAULT_ORDERING,
        "descending_prefix": "-",
        "fields": [{"name": name, "unit": UNITS.get(name)} for name in ORDERING_FIELDS],
    }


def facet_catalog() -> dict[str, list[dict]]:
    return {
        key: [
            {"value": row[field], "count": row["count"]}
            for row in Stock.objects.facet_counts(field)
        ]
        for field, key in FACETS.items()
    }


def build_catalog() -> dict:
    return {"filters": filter_catalog(), "ordering": ordering_catalog(), **facet_catalog()}
