"""
The envelopes the API answers in, as serializers, so the OpenAPI schema (and /api/docs/)
shows what clients really receive: the error body, and the objects around lists.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from .serializers import (
    BarSerializer,
    SearchHitSerializer,
    SectorSummarySerializer,
    StockRowSerializer,
)


class ErrorDetailSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField(help_text="Per parameter, its messages (400 invalid).")
    request_id = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField()
    count = serializers.IntegerField()
    results = SearchHitSerializer(many=True)


class MoversResponseSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=("gainers", "losers", "active"))
    count = serializers.IntegerField()
    results = StockRowSerializer(many=True)


class SectorsResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = SectorSummarySerializer(many=True)


class HistoryResponseSerializer(serializers.Serializer):
    ticker = serializers.CharField()
    interval = serializers.ChoiceField(choices=("1d", "1wk", "1mo"))
    period = serializers.CharField(allow_null=True)
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    count = serializers.IntegerField()
    bars = BarSerializer(many=True)


class CatalogFilterSerializer(serializers.Serializer):
    name = serializers.CharField()
    field = serializers.CharField()
    type = serializers.CharField()
    unit = serializers.CharField(allow_null=True)
    operator = serializers.CharField()
    description = serializers.CharField()


class CatalogOrderingFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    unit = serializers.CharField(allow_null=True)


class CatalogOrderingSerializer(serializers.Serializer):
    default = serializers.CharField()
    descending_prefix = serializers.CharField()
    fields = CatalogOrderingFieldSerializer(many=True)


class FacetSerializer(serializers.Serializer):
    value = serializers.CharField()
    count = serializers.IntegerField()


class CatalogSerializer(serializers.Serializer):
    filters = CatalogFilterSerializer(many=True)
    ordering = CatalogOrderingSerializer()
    sectors = FacetSerializer(many=True)
    industries = FacetSerializer(many=True)
    exchanges = FacetSerializer(many=True)
    countries = FacetSerializer(many=True)


ERROR = OpenApiResponse(ErrorSerializer, description="The one error body.")
INVALID = {400: ERROR}
NOT_FOUND = {404: ERROR}


def responses(ok, *errors: dict) -> dict:
    """A 200 of ``ok`` and the given error statuses, all with the error body."""
    answer = {200: ok}
    for error in errors:
        answer.update(error)
    return answer
