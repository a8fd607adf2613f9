"""
One JSON error body for every layer:

    {"error": {"status": 404, "code": "not_found", "message": "…",
               "details": {}, "request_id": "…"}}

``api_exception_handler`` covers DRF views; ``handler400/403/404/500`` cover Django
itself (URL resolution, suspicious requests, unhandled exceptions).
"""

from __future__ import annotations

import math
import re
import sys
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .database_guard import DatabaseTimeout
from .request_context import request_id

# What the database driver raises when the server is gone (through Django's wrappers).
DATABASE_ERRORS = (OperationalError, InterfaceError)


class TickerNotFound(exceptions.NotFound):
    default_code = "ticker_not_found"

    def __init__(self, ticker: str) -> None:
        super().__init__(f"No stock with ticker {ticker!r}.")


class InvalidParameter(exceptions.ValidationError):
    """A query parameter failed validation outside a filterset or serializer."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__({name: [message]})


def error_body(
    status: int, code: str, message: str, details: Any = None, request=None
) -> dict[str, Any]:
    rid = getattr(request, "request_id", None) or request_id.get()
    return {
        "error": {
            "status": status,
            "code": code,
            "message": message,
            "details": details if details is not None else {},
            "request_id": rid,
        }
    }


def _message_and_details(exc: exceptions.APIException) -> tuple[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return "Invalid request parameters.", detail
    return str(exc.detail), {}


def _code(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return exc.default_code  # "invalid", or a subclass's own
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def database_is_down(using: str = DEFAULT_DB_ALIAS) -> bool:
    """
    After a database error: is the server gone (an outage, 503), or was it the query
    (no such table, unknown column: a bug, 500)? No connection means opening one failed;
    an open one that still answers a ping means the database is up.
    """
    connection = connections[using]
    if connection.connection is None:
        return True
    try:
        return not connection.is_usable()
    except DatabaseError:
        return True


def is_outage(exc: Exception) -> bool:
    return isinstance(exc, DatabaseTimeout) or (
        isinstance(exc, DATABASE_ERRORS) and database_is_down()
    )


def database_unavailable_response(request, exc: Exception) -> JsonResponse:
    """
    503 with ``Retry-After`` for a database outage. Marked as logged so Django does not
    mail ADMINS for every request while the database is down: DatabaseOutageMiddleware
    logs it once the request's last attempt failed, on ``stocks.database_errors`` (one line
    a minute per process, with a count of the others).
    """
    response = JsonResponse(
        error_body(
            503,
            "database_unavailable",
            "The database is unavailable; retry shortly.",
            {"retry_after": settings.DATABASE_RETRY_AFTER_SECONDS},
            request,
        ),
        status=503,
    )
    response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER_SECONDS)
    response._has_been_logged = True  # Django's log_response: no error log, no admin mail
    # DatabaseOutageMiddleware retries safe requests, unless the database timed out (a
    # retry would only wait again; the breaker answers at once meanwhile).
    response.retry_database = not isinstance(exc, DatabaseTimeout)
    response.database_outage = type(exc).__name__
    return response


def api_exception_handler(exc: Exception, context: dict) -> Response | JsonResponse | None:
    """DRF's handler (which maps Http404/PermissionDenied and sets headers), re-bodied."""
    if is_outage(exc):
        return database_unavailable_response(context["request"], exc)
    response = exception_handler(exc, context)
    if response is None:
        return None  # unhandled: Django's handler500 answers, and the error is logged/mailed
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    message, details = _message_and_details(exc)
    details = getattr(exc, "error_details", details)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details = {"retry_after": math.ceil(exc.wait), **getattr(exc, "error_details", {})}
    response.data = error_body(
        response.status_code, _code(exc), message, details, context.get("request")
    )
    return response


# Codes and messages for errors raised below our handlers (Django's own responses).
_GENERIC = {
    400: ("bad_request", "The request could not be understood."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You may not do that."),
    404: ("not_found", "Nothing here."),
    405: ("method_not_allowed", "This method is not allowed here."),
    406: ("not_acceptable", "This resource is only available as JSON."),
    412: ("precondition_failed", "A precondition of the request (If-Match, ...) failed."),
    500: ("server_error", "Internal error; it has been logged with this request id."),
}


def generic_error_body(status: int, request=None) -> dict[str, Any]:
    """The error body for a bare status, e.g. an empty 412 from a middleware."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code, message = _GENERIC.get(status, (re.sub(r"\W+", "_", phrase.lower()), f"{phrase}."))
    return error_body(status, code, message, request=request)


def _json_error(request, status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(status, code, message, request=request), status=status)


def _generic(request, status: int) -> JsonResponse:
    return JsonResponse(generic_error_body(status, request), status=status)


def handler400(request, exception=None):
    return _generic(request, 400)


def handler403(request, exception=None):
    return _generic(request, 403)


def handler404(request, exception=None):
    return _json_error(request, 404, "not_found", f"Nothing at {request.path}.")


def handler500(request):
    # A database outage met outside a view (a middleware's session save, a commit at the
    # end of the request) is the outage's 503 too, not a 500 mailed to ADMINS.
    if is_outage(sys.exc_info()[1]):
        return database_unavailable_response(request, sys.exc_info()[1])
    return _generic(request, 500)


@csrf_exempt  # else a POST here gets the CSRF middleware's HTML 403 instead of this 404
def api_not_found(request, *args, **kwargs):
    """Catch-all under /api/: a JSON 404 even when DEBUG would render Django's HTML page."""
    return handler404(request)
