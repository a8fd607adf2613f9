"""
The screen's parameters (django-filter). The filterset only validates and documents;
``StockQuerySet.screen`` and ``.ordered`` do the querying.
"""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from ..querysets import (
    DEFAULT_ORDERING,
    ORDERING_FIELDS,
    RANGE_BOUNDS,
    RANGE_FIELDS,
)
from ..tickers import InvalidTicker, normalize_ticker

MAX_TICKERS = 500
# Bounds every number a client may send, so no value can overflow a column type.
NUMBER_LIMITS = {"max_digits": 24, "decimal_places": 6}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no); anything else is an error, not a silent None."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise forms.ValidationError("Enter true or false.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.Filter):
    field_class = StrictBooleanField


class TickerListField(forms.CharField):
    """A comma-separated list of tickers, normalised (BRK-B -> BRK.B)."""

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        raw = [part for part in (p.strip() for p in text.split(",")) if part]
        if len(raw) > MAX_TICKERS:
            raise forms.ValidationError(f"At most {MAX_TICKERS} tickers.", code="max_tickers")
        tickers = []
        for item in raw:
            try:
                tickers.append(normalize_ticker(item))
            except InvalidTicker:
                # The input goes in as a parameter: django-filter %-formats the message, so
                # a "%" typed by the client must not be part of the format string.
                raise forms.ValidationError(
                    "%(ticker)s is not a valid ticker symbol.",
                    code="invalid_ticker",
                    params={"ticker": repr(item[:32])},
                ) from None
        return list(dict.fromkeys(tickers))


@extend_schema_field(OpenApiTypes.STR)
class TickerListFilter(filters.Filter):
    field_class = TickerListField


class Near52WeekHighField(forms.DecimalField):
    """Percent below the 52-week high (0-100); ``true`` means within 5%."""

    def to_python(self, value):
        text = str(value).strip().lower() if value is not None else ""
        # "1" is a percent here (within 1%), not a boolean: only the words mean "within 5%".
        if text in _TRUE and not text.isdigit():
            return super().to_python("5")
        return super().to_python(value)


class Near52WeekHighFilter(filters.NumberFilter):
    field_class = Near52WeekHighField


# Range filters whose values have a fixed scale: a bound outside it is a 400, not a no-op.
SCALES = {"rsi": {"min_value": 0, "max_value": 100}}


def _range_filters() -> dict[str, filters.Filter]:
    lookups = {"min": "gte", "max": "lte"}
    return {
        f"{prefix}_{bound}": filters.NumberFilter(
            field_name=RANGE_FIELDS[prefix],
            lookup_expr=lookups[bound],
            label=f"{bound.capitalize()}imum {RANGE_FIELDS[prefix]}",
            **NUMBER_LIMITS,
            **SCALES.get(prefix, {}),
        )
        for prefix, bounds in RANGE_BOUNDS.items()
        for bound in bounds
    }


class StockFilterSet(filters.FilterSet):
    tickers = TickerListFilter(
        field_name="ticker", lookup_expr="in", label="Comma-separated tickers", max_length=8000
    )
    sector = filters.CharFilter(field_name="sector", max_length=64, label="Exact sector")
    industry = filters.CharFilter(field_name="industry", max_length=128, label="Exact industry")
    exchange = filters.CharFilter(field_name="exchange", max_length=16, label="Exact exchange")
    country = filters.CharFilter(field_name="country", max_length=64, label="Exact country")
    above_sma50 = StrictBooleanFilter(label="Price above (true) or at/below (false) the 50-day SMA")
    above_sma200 = StrictBooleanFilter(
        label="Price above (true) or at/below (false) the 200-day SMA"
    )
    near_52w_high = Near52WeekHighFilter(
        label="Within this percent below the 52-week high (true = 5)",
        min_value=0,
        max_value=100,
        **NUMBER_LIMITS,
    )
    ordering = filters.ChoiceFilter(
        choices=[(f, f) for name in ORDERING_FIELDS for f in (name, f"-{name}")],
        label=f"Sort field, '-' for descending (default {DEFAULT_ORDERING}); ties break on ticker",
        method="order",
    )

    @classmethod
    def get_filters(cls):
        declared = super().get_filters()
        declared.update(_range_filters())
        return declared

    def order(self, queryset, name, value):  # ordering is applied in filter_queryset
        return queryset

    def filter_queryset(self, queryset):
        criteria = {
            name: value
            for name, value in self.form.cleaned_data.items()
            if value not in (None, "", [])
        }
        ordering = criteria.pop("ordering", None) or DEFAULT_ORDERING
        return queryset.screen(**criteria).ordered(ordering)
