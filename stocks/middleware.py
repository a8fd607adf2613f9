"""Request id and timing on every response."""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.conf import settings

from .request_context import request_id

logger = logging.getLogger("stocks.requests")

# A caller's id is echoed only if it is short and plain (it ends up in logs and headers).
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestIdMiddleware:
    """
    Give each request an id (the caller's ``X-Request-ID`` if sane, else a new one), echo
    it and ``X-Response-Time`` on the response, and log requests slower than
    ``SLOW_REQUEST_MS``. Outermost, so even error responses carry both headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        # fullmatch: with match(), "$" also accepts a trailing newline, a header error.
        rid = incoming if _VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = rid
        token = request_id.set(rid)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response["X-Request-ID"] = rid
        response["X-Response-Time"] = f"{elapsed_ms:.1f}ms"
        if elapsed_ms >= settings.SLOW_REQUEST_MS:
            logger.warning(
                "slow request %s %s took %.0f ms",
                request.method,
                request.path,
                elapsed_ms,
                extra={"duration_ms": round(elapsed_ms, 1), "status": response.status_code},
            )
        return response
