"""
The screen's catalog (``/api/stocks/fields/``): every filter and ordering with its type,
unit and operator, and the sectors, industries, exchanges and countries that exist, with
counts. Built from the registry (``stocks.screen.fields``), so it cannot drift from what
the screen accepts.
"""

from __future__ import annotations

from ..models import Stock
from ..screen.fields import BY_NAME, DEFAULT_ORDERING, FILTERS, ORDERING_FIELDS

FACETS = {
    "sector": "sectors",
    "industry": "industries",
    "exchange": "exchanges",
    "country": "countries",
}


def filter_catalog() -> list[dict]:
    entries = []
    for flt in FILTERS.values():
        field = BY_NAME[flt.field]
        entry = {
            "name": flt.param,
            "field": field.column,
            "type": flt.type,
            "unit": flt.unit,
            "operator": str(flt.op),
            "description": flt.description,
        }
        if flt.minimum is not None:
            entry["minimum"] = float(flt.minimum)
        if flt.maximum is not None:
            entry["maximum"] = float(flt.maximum)
        entries.append(entry)
    return entries


def ordering_catalog() -> dict:
    return {
        "default": DEFAULT_ORDERING,
        "descending_prefix": "-",
        "fields": [{"name": name, "unit": BY_NAME[name].unit} for name in ORDERING_FIELDS],
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
