"""
The shapes of the bodies, for the OpenAPI schema only: no request runs these serializers
(bodies are built from value rows, see ``stocks.screen.rows`` and ``presenters``). The
stock row is derived from the screen's registry, so the schema cannot drift from it.
"""

from __future__ import annotations

from rest_framework import serializers

from ..models import Stock
from ..screen.fields import COMPUTED, FIELDS, FRESHNESS_FIELDS, Kind
from .parameters import INTERVALS, MOVER_KINDS
from .presenters import DETAIL_EXTRA, REALTIME_EXTRA, REALTIME_FIELDS

_KINDS = {
    Kind.DECIMAL: serializers.FloatField,
    Kind.FLOAT: serializers.FloatField,
    Kind.INTEGER: serializers.IntegerField,
    Kind.STRING: serializers.CharField,
    Kind.DATETIME: serializers.DateTimeField,
}


def _row_fields(
    names: tuple[str, ...] | None = None, *, sparse: bool = False
) -> dict[str, serializers.Field]:
    """
    A stock row's fields. ``sparse``: a screen row, where a sparse field set (``fields``)
    leaves out all but the freshness fields, so only those are required.
    """
    declared: dict[str, serializers.Field] = {}

    def presence(name: str) -> dict:
        # (A field's constructor arguments: a serializer's fields are copied through them.)
        if sparse and name not in FRESHNESS_FIELDS:
            return {"required": False}  # as a schema: may be absent
        return {"read_only": True}

    for field in FIELDS:
        if names is None or field.name in names:
            help_text = field.description + (f" ({field.unit})" if field.unit else "")
            nullable = Stock._meta.get_field(field.column).null
            declared[field.name] = _KINDS[field.kind](
                allow_null=nullable, help_text=help_text, **presence(field.name)
            )
    for name, description in COMPUTED.items():
        declared[name] = serializers.BooleanField(help_text=description, **presence(name))
    return declared


def _decimals(names: tuple[str, ...]) -> dict[str, serializers.Field]:
    return {name: serializers.FloatField(read_only=True, allow_null=True) for name in names}


StockRowSerializer = type("StockRowSerializer", (serializers.Serializer,), _row_fields())
ScreenRowSerializer = type(
    "ScreenRowSerializer", (serializers.Serializer,), _row_fields(sparse=True)
)
SearchHitSerializer = type(
    "SearchHitSerializer",
    (serializers.Serializer,),
    {"match": serializers.ChoiceField(
        choices=("exact_ticker", "ticker_prefix", "name_prefix", "fuzzy"), read_only=True),
     **_row_fields()},
)  # fmt: skip
DetailSerializer = type(
    "StockDetailSerializer",
    (serializers.Serializer,),
    {
        **_row_fields(),
        **_decimals(DETAIL_EXTRA),
        "trend": serializers.CharField(read_only=True),
        "volatility_label": serializers.CharField(read_only=True),
    },
)
RealtimeSerializer = type(
    "RealtimeQuoteSerializer",
    (serializers.Serializer,),
    {
        **_row_fields(REALTIME_FIELDS),
        **_decimals(REALTIME_EXTRA),
        "market_open": serializers.BooleanField(read_only=True),
    },
)


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
    open = serializers.FloatField()
    high = serializers.FloatField()
    low = serializers.FloatField()
    close = serializers.FloatField()
    volume = serializers.IntegerField()


class StockPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ScreenRowSerializer(many=True)


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField()
    count = serializers.IntegerField()
    results = SearchHitSerializer(many=True)


class MoversResponseSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MOVER_KINDS)
    count = serializers.IntegerField()
    results = StockRowSerializer(many=True)


class SectorsResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = SectorSummarySerializer(many=True)


class HistoryResponseSerializer(serializers.Serializer):
    ticker = serializers.CharField()
    interval = serializers.ChoiceField(choices=INTERVALS)
    period = serializers.CharField(allow_null=True)
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    count = serializers.IntegerField()
    bars = BarSerializer(many=True)


class UsagePlanSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    search_cost = serializers.IntegerField(help_text="Multiplies a search's units")


class UsageCallerSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["key", "anonymous"])
    key = serializers.CharField(required=False, help_text="The key's prefix")
    subnet = serializers.CharField(required=False, help_text="Anonymous: the client subnet")


class UsageWindowSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=["minute", "day", "second"])
    seconds = serializers.IntegerField()
    scope = serializers.ChoiceField(choices=["all", "realtime"])
    limit = serializers.IntegerField()
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    resets_at = serializers.DateTimeField()


class UsageSerializer(serializers.Serializer):
    plan = UsagePlanSerializer(allow_null=True, help_text="null: not limited")
    caller = UsageCallerSerializer()
    windows = UsageWindowSerializer(many=True)
