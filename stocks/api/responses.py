"""
The envelopes the API answers in, as serializers, so the OpenAPI schema (and /api/docs/)
shows what clients really receive: the error body, and the objects around lists.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField(help_text="Per parameter, its messages (400 invalid).")
    request_id = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class CatalogFilterSerializer(serializers.Serializer):
    name = serializers.CharField()
    field = serializers.CharField()
    type = serializers.CharField()
    unit = serializers.CharField(allow_null=True)
    operator = serializers.CharField()
    description = serializers.CharField()
    minimum = serializers.FloatField(required=False, help_text="Only where values are bounded")
    maximum = serializers.FloatField(required=False, help_text="Only where values are bounded")


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
# What every public operation may answer: an optional API key refused
# (stocks.access.authentication), a URL too long, a plan's limit, the database down.
EVERY_OPERATION = {
    401: OpenApiResponse(
        ErrorSerializer,
        description="`invalid_api_key`: the key given is malformed, unknown, revoked or expired.",
    ),
    403: OpenApiResponse(
        ErrorSerializer,
        description="`origin_not_allowed`: the key is bound to other origins than this page's;"
        " `plan_limit`: more than the caller's plan includes.",
    ),
    414: OpenApiResponse(
        ErrorSerializer,
        description="`uri_too_long`: the URL is over 8 KB (the shipped nginx's answer; send a"
        " long screen as `POST /api/stocks/screen/`).",
    ),
    429: OpenApiResponse(
        ErrorSerializer,
        description="`rate_limited`: over a window of the caller's plan (see `Retry-After`).",
    ),
    503: OpenApiResponse(
        ErrorSerializer,
        description="`database_unavailable`: the database cannot be reached (see `Retry-After`).",
    ),
}


def responses(ok, *errors: dict) -> dict:
    """
    A 200 of ``ok``, the given error statuses, and those of every public operation (the
    API key's 401/403, the proxy's 414, the plan's 429, an unreachable database's 503), all
    with the error body.
    """
    answer = {200: ok, **EVERY_OPERATION}
    for error in errors:
        answer.update(error)
    return answer
