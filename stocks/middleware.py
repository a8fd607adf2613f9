"""Request id and timing on every response, request metrics, database outages."""

from __future__ import annotations

import functools
import logging
import re
import time
import uuid

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessages
from django.db import connection, connections
from django.http import JsonResponse
from django.middleware.http import ConditionalGetMiddleware as DjangoConditionalGet
from django.urls import resolve, reverse

from . import database_guard, metrics, slow_queries
from .errors import database_unavailable_response, generic_error_body, is_outage
from .request_context import request_id

logger = logging.getLogger("stocks.requests")
# Requests answered 503 because the database is gone: one line a minute (settings.LOGGING).
outage_logger = logging.getLogger("stocks.database_errors")

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
        finally:
            # Only now: the slow-request line above must still carry the request id.
            request_id.reset(token)
        return response


class RequestMetricsMiddleware:
    """
    Count each request in the Prometheus metrics (``stocks.metrics``: route template, method,
    status, latency, queries, in flight) and keep every query slower than ``SLOW_QUERY_MS``
    for /health/performance/ (``stocks.slow_queries``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        queries = 0

        def timed(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            query_started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                elapsed = (time.perf_counter() - query_started) * 1000
                if elapsed >= settings.SLOW_QUERY_MS:
                    slow_queries.record(sql, elapsed, metrics.route_of(request))
                    logger.warning(
                        "slow query (%.0f ms) on %s: %s", elapsed, request.path, sql[:500]
                    )

        metrics.request_started()
        status = 500  # what Django answers for an exception that escapes
        try:
            with connection.execute_wrapper(timed):
                response = self.get_response(request)
            status = response.status_code
        finally:
            metrics.record_request(request, status, time.perf_counter() - started, queries)
        return response


class DatabaseOutageMiddleware:
    """
    While the database is unreachable: retry safe requests a few times with backoff (the
    connection is reopened in between), then answer 503 with ``Retry-After``. The 503 is
    logged once as a warning rather than mailed to ADMINS, request after request. Each
    round trip is bounded (``stocks.database_guard``); one that timed out is not retried.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        retries = settings.DATABASE_READ_RETRIES if request.method in ("GET", "HEAD") else 0
        for attempt in range(retries + 1):
            with database_guard.request_limit():
                response = self.get_response(request)
            if not getattr(response, "retry_database", False) or attempt == retries:
                break
            for conn in connections.all(initialized_only=True):
                conn.close()
            time.sleep(settings.DATABASE_RETRY_BACKOFF_SECONDS * 2**attempt)
        if outage := getattr(response, "database_outage", None):
            outage_logger.warning("database unavailable on %s: %s", request.path, outage)
        return response

    def process_exception(self, request, exception):
        # Views outside DRF (DRF's own handler covers the API views).
        if is_outage(exception):
            return database_unavailable_response(request, exception)
        return None


# Headers that describe the old body and must not survive its replacement.
_BODY_HEADERS = {"content-type", "content-length", "content-encoding", "etag", "last-modified"}


class JsonErrorMiddleware:
    """
    The safety net under the one error body. An error response (4xx, 5xx) that is not JSON
    already - Django's CSRF page, ConditionalGetMiddleware's empty 412, WhiteNoise's 405, a
    405 from a view that renders HTML or YAML (the API docs and schema), a bare
    HttpResponseNotAllowed - gets the standard body, keeping its status and its other
    headers (Allow, Retry-After, WWW-Authenticate). A DRF error body rendered in another
    format is kept, as JSON. The admin keeps its HTML pages.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or _is_json(response) or _is_admin(request):
            return response
        data = getattr(response, "data", None)
        # (Only the error: DRF's HTML renderer adds a status_code key to the data it renders.)
        body = {"error": data["error"]} if isinstance(data, dict) and "error" in data else None
        rebodied = JsonResponse(
            body or generic_error_body(response.status_code, request), status=response.status_code
        )
        for header, value in response.items():
            if header.lower() not in _BODY_HEADERS:
                rebodied[header] = value
        # Django's log_response: whatever was (not) logged for the original stands.
        rebodied._has_been_logged = getattr(response, "_has_been_logged", False)
        return rebodied


def _is_admin(request) -> bool:
    admin = settings.ADMIN_URL
    return bool(admin) and request.path.startswith(f"/{admin}")


def _is_json(response) -> bool:
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


class HealthProbeMiddleware:
    """
    Answer the public probes (/health/, /health/live/, /health/ready/) and /metrics before
    host validation and the HTTPS redirect. Load balancers, orchestrators and Prometheus call
    an instance by its own address over plain HTTP, which ``ALLOWED_HOSTS`` would refuse
    (400) and ``SECURE_SSL_REDIRECT`` would redirect (301): either takes a healthy box out,
    or blinds its monitoring. (/metrics checks its own caller: ``health.auth``.) Placed
    below the request id, JSON error and metrics middleware, above SecurityMiddleware.
    """

    # URL names in stocks/urls.py: the paths come from there, not from a second list.
    PROBES = ("health", "health-live", "health-ready", "metrics")

    def __init__(self, get_response):
        self.get_response = get_response
        self._paths: frozenset[str] | None = None

    def __call__(self, request):
        if self._paths is None:  # the URLconf is not loaded yet when middleware is built
            self._paths = frozenset(reverse(name).rstrip("/") + "/" for name in self.PROBES)
        # With or without the trailing slash: a load balancer may be set up with either.
        path = request.path_info.rstrip("/") + "/"
        if path not in self._paths:
            return self.get_response(request)
        match = resolve(path)
        request.resolver_match = match  # named in the request metrics
        return match.func(request, *match.args, **match.kwargs)


class ConditionalGetMiddleware(DjangoConditionalGet):
    """
    Django's: an ETag on each successful GET, 304 when ``If-None-Match`` matches it. Never on
    an error: a 400, 404 or 503 describes no representation a client could revalidate.
    """

    def needs_etag(self, response):
        return 200 <= response.status_code < 300 and super().needs_etag(response)


class OffTheApi:
    """
    Runs the Django middleware it is mixed into only off the public API. Under
    ``stocks.urls.API_PREFIX`` a caller is anonymous or shows an API key
    (``stocks.access.authentication``, which sets DRF's ``request.user`` itself): nothing
    there reads Django's lazy user or the message store, so building both for each request
    was work thrown away (README "Response cache" has the numbers). The admin and the
    operator views (a staff session) get them as Django ships them. Sessions and CSRF stay
    Django's own, unchanged: Django's deploy checks look for them by name, and skipping them
    saved nothing measurable.
    """

    def __call__(self, request):
        if request.path_info.startswith(_api_path()):
            return self.get_response(request)
        return super().__call__(request)


@functools.cache
def _api_path() -> str:
    from .urls import API_PREFIX  # not at import: the URLconf imports the views

    return f"/{API_PREFIX}"  # path_info: below any script prefix


class AuthenticationMiddleware(OffTheApi, DjangoAuthentication):
    pass


class MessageMiddleware(OffTheApi, DjangoMessages):
    pass
