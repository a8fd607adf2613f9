"""Request bodies, bounded: the API's JSON parser refuses one over DATA_UPLOAD_MAX_MEMORY_SIZE."""

from __future__ import annotations

import codecs
import json
from decimal import Decimal

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.utils import json as json_utils


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
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            # Numbers with a fraction or exponent as Decimals, exactly as written: a double
            # would round 1.00000000000000001 to 1 before the screen reads it.
            return json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=json_utils.strict_constant,
                parse_float=Decimal,
            )
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
