"""Response shapes. Each stock row carries ``as_of`` and ``is_stale``."""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from rest_framework import serializers

from .. import indicators
from ..market_calendar import stale_threshold
from ..models import Stock

LIST_FIELDS = (
    "ticker", "name", "exchange", "sector", "industry", "country", "currency",
    "price", "change", "change_percent", "volume", "avg_volume_30d", "market_cap",
    "pe_ratio", "dividend_yield", "beta", "rsi_14", "sma_50", "sma_200",
    "week52_high", "week52_low", "volatility_30d", "as_of", "is_stale",
)  # fmt: skip
# Response fields that are not model columns, and the columns they are computed from.
COMPUTED_FROM = {"as_of": ("quote_time",), "is_stale": ("quote_time",)}


def freshness_context(now=None) -> dict:
    """Serializer context for freshness: the staleness threshold, computed once per request."""
    return {"stale_before": stale_threshold(now or timezone.now())}


def columns_for(fields: tuple[str, ...]) -> tuple[str, ...]:
    """Model columns needed to render ``fields``."""
    columns: list[str] = []
    for name in fields:
        columns.extend(COMPUTED_FROM.get(name, (name,)))
    return tuple(dict.fromkeys(columns))


class StockRowSerializer(serializers.ModelSerializer):
    """A stock in a list. ``fields`` (a tuple) in the constructor gives a sparse field set."""

    as_of = serializers.DateTimeField(source="quote_time", read_only=True)
    is_stale = serializers.SerializerMethodField()

    class Meta:
        model = Stock
        fields = LIST_FIELDS

    def __init__(self, *args, fields: tuple[str, ...] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if fields is not None:
            for name in set(self.fields) - set(fields):
                self.fields.pop(name)

    def get_is_stale(self, stock: Stock) -> bool:
        stale_before = self.context.get("stale_before") or stale_threshold(timezone.now())
        return stock.quote_time is None or stock.quote_time < stale_before


class SearchHitSerializer(StockRowSerializer):
    match = serializers.CharField(read_only=True)

    class Meta(StockRowSerializer.Meta):
        fields = ("match", *LIST_FIELDS)


class StockDetailSerializer(StockRowSerializer):
    trend = serializers.SerializerMethodField()
    volatility_label = serializers.SerializerMethodField()

    class Meta(StockRowSerializer.Meta):
        fields = (
            *LIST_FIELDS,
            "open", "day_high", "day_low", "previous_close", "eps", "sma_20",
            "trend", "volatility_label",
        )  # fmt: skip

    def get_trend(self, stock: Stock) -> str:
        return indicators.trend(
            *(
                float(v) if v is not None else None
                for v in (stock.price, stock.sma_50, stock.sma_200)
            )
        )

    def get_volatility_label(self, stock: Stock) -> str:
        return indicators.volatility_label(stock.volatility_30d)


class RealtimeQuoteSerializer(StockRowSerializer):
    market_open = serializers.SerializerMethodField()

    class Meta(StockRowSerializer.Meta):
        fields = (
            "ticker", "name", "price", "change", "change_percent", "open", "day_high",
            "day_low", "previous_close", "volume", "as_of", "is_stale", "market_open",
        )  # fmt: skip

    def get_market_open(self, stock: Stock) -> bool:
        return bool(self.context.get("market_open"))


class SectorSummarySerializer(serializers.Serializer):
    sector = serializers.CharField()
    count = serializers.IntegerField()
    advancers = serializers.IntegerField()
    decliners = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    mean_change_percent = serializers.FloatField(allow_null=True)
    market_cap = serializers.IntegerField(allow_null=True)


class BarSerializer(serializers.Serializer):
    date = serializers.DateField()
    open = serializers.DecimalField(max_digits=18, decimal_places=4)
    high = serializers.DecimalField(max_digits=18, decimal_places=4)
    low = serializers.DecimalField(max_digits=18, decimal_places=4)
    close = serializers.DecimalField(max_digits=18, decimal_places=4)
    volume = serializers.IntegerField()


# --- query parameters -------------------------------------------------------------------


class SearchParams(serializers.Serializer):
    q = serializers.CharField(max_length=100, trim_whitespace=True)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


class MoversParams(serializers.Serializer):
    kind = serializers.ChoiceField(choices=("gainers", "losers", "active"), default="gainers")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)


class HistoryParams(serializers.Serializer):
    interval = serializers.ChoiceField(choices=("1d", "1wk", "1mo"), default="1d")
    period = serializers.ChoiceField(choices=("1m", "3m", "6m", "1y", "5y", "max"), required=False)
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def validate(self, attrs):
        if "period" in attrs and ("start" in attrs or "end" in attrs):
            raise serializers.ValidationError("Give either period or start/end, not both.")
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and start > end:
            raise serializers.ValidationError({"start": ["Must not be after end."]})
        for name in ("start", "end"):
            if attrs.get(name) and attrs[name] < date(1900, 1, 1):
                raise serializers.ValidationError({name: ["Must be 1900-01-01 or later."]})
        if not attrs.get("period") and not start and not end:
            attrs["period"] = "1y"
        return attrs
