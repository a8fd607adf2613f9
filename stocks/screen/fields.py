"""
The one registry of the screen's fields.

Each ``Field`` says, once: its public name, the model column behind it, its type and unit,
which filters it offers, whether lists can be ordered by it, and what it means. The
parameter parser, the ordering whitelist, the sparse ``fields`` set, the catalog at
``/api/stocks/fields/``, the OpenAPI parameters, the SQL screen and the in-memory engine
are all derived from ``FIELDS``. Adding a screen field is one ``Field(...)`` here plus its
model column.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType


class Kind(enum.StrEnum):
    """How a column is stored, compared and rendered."""

    DECIMAL = "decimal"  # DecimalField(18, 4): exact, rendered as a JSON number
    FLOAT = "float"  # FloatField
    INTEGER = "integer"  # BigIntegerField
    STRING = "string"
    DATETIME = "datetime"


class Op(enum.StrEnum):
    """What a filter does with the value it is given."""

    GTE = ">="
    LTE = "<="
    EXACT = "="
    IN = "in"
    # price > column (true) / price <= column (false): the moving-average filters.
    PRICE_ABOVE = "price > field (true) / price <= field (false)"
    # price >= column * (1 - value / 100): within ``value`` percent below the column.
    PRICE_NEAR = "price >= week52_high * (1 - value/100)"


# Every number a client sends is below 10^18 in absolute value, so no bound can overflow a
# column type, and no arithmetic on it can grow without bound. Its decimals are read as the
# column holds them (``stocks.screen.params``): the price-like columns to their scale, the
# whole-number ones to whole numbers, the double ones as the nearest double, and a percent
# for near_52w_high to NEAR_DECIMAL_PLACES.
NUMBER_MAX_WHOLE_DIGITS = 18
NEAR_DECIMAL_PLACES = 6
# The price-like columns' scale (models.PRICE): values are stored to four decimals.
PRICE_DECIMAL_PLACES = 4
# ``tickers``: a comma-separated text of at most this many characters (what fits in a URL
# beside every other parameter at its longest, in ASCII: tests/api/test_docs.py), or in a
# POST body a JSON list of at most MAX_TICKERS tickers.
TICKERS_MAX_LENGTH = 4000
MAX_TICKERS = 500


@dataclass(frozen=True)
class Filter:
    """One query parameter of the screen."""

    param: str
    op: Op
    type: str  # as the catalog names it: number, string, boolean, list[ticker]
    description: str
    unit: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    max_length: int | None = None
    field: str = ""  # the Field it belongs to, filled in by Field.__post_init__


@dataclass(frozen=True)
class Field:
    """A screen field: a column of list rows, maybe a filter, maybe an ordering."""

    name: str
    kind: Kind
    description: str
    column: str = ""  # the model column; defaults to ``name``
    unit: str | None = None
    # "<prefix>_min" / "<prefix>_max" range filters; the prefix defaults to ``name``.
    range_prefix: str | None = None
    range_bounds: tuple[str, ...] = ()
    # The bounds of the values themselves (RSI is 0-100): a filter outside is a 400.
    scale: tuple[Decimal, Decimal] | None = None
    exact: bool = False  # ``<name>=value`` exact-match filter (strings)
    orderable: bool = False
    extra_filters: tuple[Filter, ...] = ()
    filters: tuple[Filter, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        if not self.column:
            object.__setattr__(self, "column", self.name)
        declared: list[Filter] = []
        if self.exact:
            declared.append(Filter(self.name, Op.EXACT, "string", f"Exact {self.name}"))
        prefix = self.range_prefix or self.name
        for bound in self.range_bounds:
            low, high = self.scale or (None, None)
            declared.append(
                Filter(
                    f"{prefix}_{bound}",
                    Op.GTE if bound == "min" else Op.LTE,
                    "number",
                    f"{bound.capitalize()}imum {self.name}"
                    + (f" ({self.unit})" if self.unit else ""),
                    unit=self.unit,
                    minimum=low,
                    maximum=high,
                )
            )
        declared.extend(self.extra_filters)
        object.__setattr__(self, "filters", tuple(_replace_field(f, self.name) for f in declared))

    @property
    def numeric(self) -> bool:
        return self.kind in (Kind.DECIMAL, Kind.FLOAT, Kind.INTEGER)


def _replace_field(flt: Filter, name: str) -> Filter:
    from dataclasses import replace

    return replace(flt, field=name)


_PERCENT = (Decimal(0), Decimal(100))

FIELDS: tuple[Field, ...] = (
    Field(
        "ticker", Kind.STRING, "Ticker symbol, canonical form (BRK.B)", orderable=True,
        extra_filters=(
            Filter("tickers", Op.IN, "list[ticker]",
                   f"Comma-separated tickers (at most {TICKERS_MAX_LENGTH} characters; in a"
                   f" POST body also a list of at most {MAX_TICKERS}); BRK-B and brk.b mean"
                   " BRK.B"),
        ),
    ),
    Field("name", Kind.STRING, "Company name", orderable=True),
    Field("exchange", Kind.STRING, "Listing exchange", exact=True),
    Field("sector", Kind.STRING, "Sector", exact=True),
    Field("industry", Kind.STRING, "Industry", exact=True),
    Field("country", Kind.STRING, "Country of the issuer", exact=True),
    Field("currency", Kind.STRING, "Quote currency (ISO 4217)"),
    Field("price", Kind.DECIMAL, "Last price", unit="USD", range_bounds=("min", "max"),
          orderable=True),
    Field("change", Kind.DECIMAL, "Change from the previous close", unit="USD",
          orderable=True),
    Field("change_percent", Kind.FLOAT, "Change from the previous close", unit="percent",
          range_bounds=("min", "max"), orderable=True),
    Field("volume", Kind.INTEGER, "Shares traded in the session", unit="shares",
          range_bounds=("min",), orderable=True),
    Field("avg_volume_30d", Kind.INTEGER, "Average daily volume over 30 sessions",
          unit="shares", range_prefix="avg_volume", range_bounds=("min",), orderable=True),
    Field("market_cap", Kind.INTEGER, "Market capitalisation", unit="USD",
          range_bounds=("min", "max"), orderable=True),
    Field("pe_ratio", Kind.FLOAT, "Price / earnings", unit="ratio", range_prefix="pe",
          range_bounds=("min", "max"), orderable=True),
    Field("dividend_yield", Kind.FLOAT, "Dividend yield", unit="percent",
          range_bounds=("min",), orderable=True),
    Field("beta", Kind.FLOAT, "Beta against the market", unit="ratio",
          range_bounds=("min", "max"), orderable=True),
    Field("rsi_14", Kind.FLOAT, "Wilder RSI over 14 sessions", unit="index (0-100)",
          range_prefix="rsi", range_bounds=("min", "max"), scale=_PERCENT, orderable=True),
    Field("sma_50", Kind.DECIMAL, "50-session simple moving average", unit="USD",
          extra_filters=(
              Filter("above_sma50", Op.PRICE_ABOVE, "boolean",
                     "Price above (true) or at/below (false) the 50-day SMA"),
          )),
    Field("sma_200", Kind.DECIMAL, "200-session simple moving average", unit="USD",
          extra_filters=(
              Filter("above_sma200", Op.PRICE_ABOVE, "boolean",
                     "Price above (true) or at/below (false) the 200-day SMA"),
          )),
    Field("week52_high", Kind.DECIMAL, "Highest close of the last 52 weeks", unit="USD",
          extra_filters=(
              Filter("near_52w_high", Op.PRICE_NEAR, "number",
                     "Within this percent below the 52-week high (true = 5)",
                     unit="percent", minimum=_PERCENT[0], maximum=_PERCENT[1]),
          )),
    Field("week52_low", Kind.DECIMAL, "Lowest close of the last 52 weeks", unit="USD"),
    Field("volatility_30d", Kind.FLOAT, "Annualised volatility over 30 sessions",
          unit="fraction (annualised)", orderable=True),
    Field("as_of", Kind.DATETIME, "When the quote was taken (RFC 3339, UTC)",
          column="quote_time"),
)  # fmt: skip

# Not columns: computed per request from ``as_of`` (the market calendar decides).
COMPUTED = {"is_stale": "True when the quote is older than the refresh interval plus grace"}

BY_NAME: MappingProxyType[str, Field] = MappingProxyType({f.name: f for f in FIELDS})
FILTERS: MappingProxyType[str, Filter] = MappingProxyType(
    {flt.param: flt for f in FIELDS for flt in f.filters}
)
ORDERING_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.orderable)
DEFAULT_ORDERING = "ticker"
# What a list row holds, in order: every field, then the computed ones.
LIST_FIELDS: tuple[str, ...] = (*(f.name for f in FIELDS), *COMPUTED)
# Columns every row reads whatever sparse field set is asked for (identity, freshness).
ALWAYS_COLUMNS = ("ticker", "quote_time")
# Fields every row carries, a sparse field set or not.
FRESHNESS_FIELDS = ("as_of", "is_stale")


class Invalid(ValueError):
    """A parameter's value is refused; the message is the client's."""


@dataclass(frozen=True)
class SortKey:
    """A parsed ``ordering``: the field and its direction. Ties always break on ticker."""

    field: str
    descending: bool

    @classmethod
    def parse(cls, ordering: str) -> SortKey:
        name = ordering.removeprefix("-")
        if name not in ORDERING_FIELDS or ordering.count("-") > 1:
            raise Invalid(
                f"Unknown ordering {ordering[:40]!r}; choose from "
                f"{', '.join(ORDERING_FIELDS)} (prefix '-' for descending)."
            )
        return cls(field=name, descending=ordering.startswith("-"))

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


def columns_for(fields: tuple[str, ...]) -> tuple[str, ...]:
    """Model columns needed to render ``fields`` (is_stale needs the quote time)."""
    columns = [BY_NAME[name].column for name in fields if name in BY_NAME]
    return tuple(dict.fromkeys((*ALWAYS_COLUMNS, *columns)))
