"""
Health endpoints. /health/, /health/live/ and /health/ready/ are for load balancers and
orchestrators: public, fast, plain. The rest are operator views (staff session or
``Authorization: Bearer $HEALTH_TOKEN``).
"""

from __future__ import annotations

import sys
import time

import django
import psutil
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import metrics, slow_queries
from ..db_introspection import database_report
from ..errors import error_body
from .auth import HealthTokenAuthentication, IsOperator, metrics_refusal
from .base import DOWN, OK, overall_status
from .checks import container_memory
from .registry import LOAD_BALANCER, READINESS, run_checks
from .report import HealthReport, versions


def _plain(payload: dict, status: int) -> JsonResponse:
    response = JsonResponse(payload, status=status)
    # A 503 here is an answer, not an error: no error log line, no mail to ADMINS.
    response._has_been_logged = True
    return response


def _verdict(names: tuple[str, ...]) -> JsonResponse:
    results = run_checks(names)
    status = overall_status(results)
    payload: dict = {"status": status}
    failing = [r for r in results if r.status != OK]
    if failing:
        # Names and statuses only: these views are public, and a message can carry internals
        # (a database error names its host). Operators read the messages on /health/detailed/.
        payload["checks"] = {r.name: {"status": r.status} for r in failing}
    return _plain(payload, 503 if status == DOWN else 200)


def probe(view):
    """A public probe: GET/HEAD only (else a 405, given the JSON body by JsonErrorMiddleware),
    no CSRF check, never cached."""
    return csrf_exempt(require_safe(never_cache(view)))


@probe
def health(request):
    """Load balancers: can this instance serve? (The database answers.)"""
    return _verdict(LOAD_BALANCER)


@probe
def live(request):
    """The process is up and answering; touches nothing else."""
    return _plain({"status": OK}, 200)


@probe
def ready(request):
    """Ready for traffic: database, cache and migrations."""
    return _verdict(READINESS)


@csrf_exempt
@require_safe
def prometheus(request):
    """``GET /metrics``: the Prometheus exposition of the whole server (``stocks.metrics``)."""
    refusal = metrics_refusal(request)
    if refusal is not None:
        code, message = refusal
        response = JsonResponse(error_body(401, code, message, request=request), status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.exposition(request.headers.get("Accept", ""))
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


class OperatorView(APIView):
    authentication_classes = [HealthTokenAuthentication, SessionAuthentication]
    permission_classes = [IsOperator]
    schema = None  # for operators, documented in README.md: not part of the public API schema

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


class DetailedHealthView(OperatorView):
    """Every check, grouped by category, with the overall status and versions."""

    def get(self, request):
        report = HealthReport(run_checks())
        response = Response(
            {**report.as_dict(), "versions": versions()}, status=503 if report.down else 200
        )
        response._has_been_logged = True
        return response


def _scope() -> str:
    if metrics.multiprocess_dir():
        return "server: every gunicorn worker of this instance"
    return "process: the one process serving this instance"


def _endpoints(families) -> list[dict]:
    return [
        {
            "endpoint": figures.route,
            "requests": figures.requests,
            "errors_5xx": figures.errors_5xx,
            **{
                f"p{round(q * 100)}_ms": None if (s := figures.quantile(q)) is None
                else round(s * 1000, 2)
                for q in (0.5, 0.95, 0.99)
            },
        }
        for figures in metrics.by_route(families)
    ]  # fmt: skip


class MetricsView(OperatorView):
    """
    Per route template: requests, 5xx answers and latency percentiles, from the Prometheus
    histograms of every worker (what /metrics exposes), estimated from the buckets as
    PromQL's histogram_quantile does.
    """

    def get(self, request):
        families = metrics.collect()
        in_flight = sum(metrics.gauge_values(families, metrics.IN_FLIGHT))
        versions = [v for v in metrics.gauge_values(families, metrics.SNAPSHOT_VERSION) if v]
        built = [t for t in metrics.gauge_values(families, metrics.SNAPSHOT_BUILT) if t]
        return Response(
            {
                "scope": _scope(),
                "in_flight": in_flight,
                # The oldest a worker holds: one stuck on an old version shows here.
                "screen_snapshot": {
                    "workers_holding_one": len(versions),
                    "oldest_version": int(min(versions)) if versions else None,
                    "newest_version": int(max(versions)) if versions else None,
                    "oldest_age_seconds": round(time.time() - min(built), 1) if built else None,
                },
                "endpoints": _endpoints(families),
            }
        )


class PerformanceView(OperatorView):
    """The slowest endpoints (by p95) and the slowest recent queries."""

    def get(self, request):
        endpoints = [e for e in _endpoints(metrics.collect()) if e["p95_ms"] is not None]
        endpoints.sort(key=lambda e: e["p95_ms"], reverse=True)
        return Response(
            {
                "scope": _scope(),
                "slow_request_ms": settings.SLOW_REQUEST_MS,
                "slow_query_ms": settings.SLOW_QUERY_MS,
                "slowest_endpoints": endpoints[:10],
                "slow_queries": slow_queries.recent(),
            }
        )


class DatabaseView(OperatorView):
    """Vendor, table sizes and row counts, declared indexes present or missing."""

    def get(self, request):
        return Response(database_report())


class MemoryView(OperatorView):
    """This process's memory, the system's, and how gunicorn recycles workers."""

    def get(self, request):
        process = psutil.Process()
        memory = process.memory_info()
        system = psutil.virtual_memory()
        return Response(
            {
                "process": {"pid": process.pid, "rss_bytes": memory.rss, "vms_bytes": memory.vms},
                "system": {
                    "total_bytes": system.total,
                    "available_bytes": system.available,
                    "used_percent": system.percent,
                },
                # The cgroup's limit and working set when the process runs in a container.
                "container": container_memory(),
                "gunicorn": settings.GUNICORN,
                "python": sys.version.split()[0],
                "django": django.get_version(),
            }
        )
