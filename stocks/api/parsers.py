"""Request bodies, bounded: the API's JSON parser refuses one over DATA_UPLOAD_MAX_MEMORY_SIZE."""

from __future__ import annotations

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class BoundedJSONParser(JSONParser):
    """
    DRF reads a body straight from the stream, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    check. The stream is bounded by Content-Length (Django's LimitedStream), so a body
    whose declared length is over the limit is refused with 413 before a byte is read.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request else 0
        except ValueError:
            length = 0
        if length > limit:
            raise RequestTooLarge(f"The request body is over {limit // 1024} KB.")
        return super().parse(stream, media_type, parser_context)
