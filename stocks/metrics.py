"""
Prometheus metrics for the whole server, and ``GET /metrics``.

Three kinds of figures, each counted where it happens:

- **This server's** (requests, latency, in-flight requests, response-cache lookups, queries
  per request, the screen snapshot): prometheus-client metrics on ``REGISTRY``. Under
  gunicorn every worker writes them to memory-mapped files in one directory
  (``stocks.metrics_dir``, set up by gunicorn.conf.py), and a scrape sums the files of every
  worker, live or recycled (prometheus-client's multiprocess mode): whichever worker answers,
  the figures are the server's. Elsewhere (runserver, manage.py) they are the process's own.
- **The cluster's** (provider requests, Celery task outcomes): these happen in Celery
  workers, often on other boxes, so with Redis they are counted in the shared Redis (one hash
  per metric) and every web instance shows the same cluster-wide totals: aggregate them with
  ``max``, not ``sum``. Without Redis (the embedded default, Celery eager in the web
  process) they are in-process counters like the rest.
- **State read at scrape time**: each provider endpoint's circuit breaker, from the cache.

``/health/metrics/`` and ``/health/performance/`` read the same collected figures
(``collect()``), so they too describe the whole server.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from . import metrics_dir, shared_redis
from .cache_namespaces import cache_key

logger = logging.getLogger(__name__)

PREFIX = "stockscanner"
# Seconds. Fine at the low end: a cached answer takes about a millisecond.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUERY_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144)
SNAPSHOT_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# A client chooses its method: anything else is counted as "other", not as a new series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "(unmatched)"  # the route of a request no URL pattern matched
STATIC = "(static)"  # a static file (WhiteNoise answers it before URL resolution)
WARN_EVERY_SECONDS = 60.0

# The in-process metrics live here, never in prometheus-client's global default registry
# (which would also collect process figures that mean nothing summed over workers).
REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "Requests answered, by route template, method and status.",
    ("route", "method", "status"),
    registry=REGISTRY,
)
LATENCY = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer a request, by route template and method.",
    ("route", "method"),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    f"{PREFIX}_http_requests_in_flight",
    "Requests being answered now.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
QUERIES = Histogram(
    f"{PREFIX}_db_queries_per_request",
    "Database queries made to answer a request, by route template.",
    ("route",),
    buckets=QUERY_BUCKETS,
    registry=REGISTRY,
)
CACHE_LOOKUPS = Counter(
    f"{PREFIX}_response_cache_lookups",
    "Response-cache lookups by endpoint: hit, miss (rendered and stored), or bypass (the "
    "cache is off or cannot keep values).",
    ("endpoint", "result"),
    registry=REGISTRY,
)
# Per live worker (a pid label under gunicorn): a worker stuck on an old snapshot shows.
SNAPSHOT_VERSION = Gauge(
    f"{PREFIX}_screen_snapshot_version",
    "Data version of the screen snapshot each live worker holds (0: none yet).",
    multiprocess_mode="liveall",
    registry=REGISTRY,
)
SNAPSHOT_BUILT = Gauge(
    f"{PREFIX}_screen_snapshot_built_timestamp_seconds",
    "When the screen snapshot each live worker holds was built, Unix time (0: none yet); "
    "its age is time() minus this.",
    multiprocess_mode="liveall",
    registry=REGISTRY,
)
SNAPSHOT_BUILD = Histogram(
    f"{PREFIX}_screen_snapshot_build_seconds",
    "Time to build a screen snapshot from the database.",
    buckets=SNAPSHOT_BUCKETS,
    registry=REGISTRY,
)


class SharedCounter:
    """
    A counter of events that happen in Celery workers: in the shared Redis when there is one
    (every process, every box, one total), else in the process (``REGISTRY``'s files under
    gunicorn, like the rest). Counting never fails the work it counts.
    """

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...]) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, labelnames
        # Not on REGISTRY: the scrape asks this counter which of its two homes to read.
        self.local = Counter(name, documentation, labelnames, registry=None)

    @property
    def key(self) -> str:
        """The hash in Redis, under the cache's own prefix and version like every app key."""
        from django.core.cache import cache

        return cache.make_key(cache_key("metrics", self.name))

    def inc(self, **labels: str) -> None:
        values = [str(labels[name]) for name in self.labelnames]
        try:
            if shared_redis.available():
                shared_redis.client().hincrby(self.key, json.dumps(values), 1)
            else:
                self.local.labels(*values).inc()
        except Exception as exc:  # noqa: BLE001 - a lost count, never a failed task
            _warn(f"metric {self.name} not counted", exc)

    def collect(self) -> Iterator[Metric]:
        if not shared_redis.available():
            if not multiprocess_dir():  # (under gunicorn, the workers' files carry them)
                yield from self.local.collect()
            return
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for field, count in sorted(shared_redis.client().hgetall(self.key).items()):
            try:
                values = json.loads(field)
            except ValueError:
                continue
            if isinstance(values, list) and len(values) == len(self.labelnames):
                family.add_metric([str(v) for v in values], float(count))
        yield family


PROVIDER_REQUESTS = SharedCounter(
    f"{PREFIX}_provider_requests",
    "Market-data provider requests by provider, endpoint and outcome: ok, unavailable (no "
    "connection, timeout, 429, 5xx), refused (401/403), invalid (an answer that cannot be "
    "read), circuit_open (not sent: the breaker is open).",
    ("provider", "endpoint", "outcome"),
)
TASKS = SharedCounter(
    f"{PREFIX}_celery_tasks",
    "Celery refresh tasks by task and outcome: succeeded, skipped (another run holds the "
    "lock), circuit_open, refused, retried, failed.",
    ("task", "outcome"),
)
SHARED = (PROVIDER_REQUESTS, TASKS)


class _ClusterCollector:
    """The shared counters and the circuit breakers' states, read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        for counter in SHARED:
            try:
                yield from counter.collect()
            except Exception as exc:  # noqa: BLE001 - Redis down: the scrape still answers
                _warn(f"metric {counter.name} unreadable", exc)
        yield from _breakers()


def _breakers() -> Iterator[Metric]:
    from django.conf import settings

    from .providers.breaker import ENDPOINTS, STATES, CircuitBreaker

    family = GaugeMetricFamily(
        f"{PREFIX}_provider_circuit_state",
        "Each provider endpoint's circuit breaker: 1 for its current state, 0 for the others.",
        labels=("provider", "endpoint", "state"),
    )
    if shared_redis.available():
        # The cache ignores Redis errors (a breaker would then read as closed): ask Redis.
        try:
            shared_redis.client().ping()
        except Exception as exc:  # noqa: BLE001 - unknown, so not shown (never "closed")
            _warn("provider circuit states unreadable", exc)
            return
    provider = settings.MARKET_DATA_PROVIDER
    for endpoint in ENDPOINTS:
        current = CircuitBreaker(provider, endpoint).state().state
        for state in STATES:
            family.add_metric([provider, endpoint, state], 1.0 if state == current else 0.0)
    yield family


def multiprocess_dir() -> str | None:
    """gunicorn's metrics directory, in its workers; None in any other process."""
    return metrics_dir.current()


def collect() -> list[Metric]:
    """Everything ``/metrics`` shows, collected afresh: every worker's figures, summed."""
    directory = multiprocess_dir()
    if directory is None:
        families = list(REGISTRY.collect())
    else:
        metrics_dir.ensure(directory)  # removed under us: the figures are lost, not the answer
        files = multiprocess.MultiProcessCollector(None, path=directory)
        with metrics_dir.locked(directory, exclusive=False):  # not while a worker is folded
            families = list(files.collect())
    return families + list(_ClusterCollector().collect())  # (Redis: outside the lock)


class _Collected:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def exposition(accept: str) -> tuple[bytes, str]:
    """The body and content type of a scrape: Prometheus text, or OpenMetrics if asked."""
    encode, content_type = choose_encoder(accept)
    return encode(_Collected(collect())), content_type


def _warn(what: str, exc: Exception) -> None:
    """One warning a minute per kind of failure: a Redis outage is not a log flood."""
    now = time.monotonic()
    if now - _warned_at.get(what, -1e9) >= WARN_EVERY_SECONDS:
        _warned_at[what] = now
        logger.warning("%s: %s: %s", what, type(exc).__name__, exc)


_warned_at: dict[str, float] = {}


# --- recording -----------------------------------------------------------------------


def route_of(request) -> str:
    """The route template that matched (``/api/stocks/<ticker>/``), never the raw path."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    if route:
        return template(route)
    from django.conf import settings

    return STATIC if request.path.startswith(settings.STATIC_URL) else UNMATCHED


_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>")


@functools.lru_cache(maxsize=256)
def template(route: str) -> str:
    """
    A route as a reader writes it: ``api/stocks/(?P<ticker>[A-Z…]{0,15})/?$`` is
    ``/api/stocks/<ticker>/``; a pattern matching a prefix only (``^api/``) ends in ``*``.
    """
    if not (route.startswith("^") or route.endswith("$")):
        return f"/{route}"  # a path() route is already a template
    prefix_only = not route.endswith("$")
    text = route.removeprefix("^").removesuffix("$").replace("/?", "/")
    out, at = [], 0
    for found in _NAMED_GROUP.finditer(text):
        if found.start() < at:
            continue  # a group inside a group already replaced
        out.append(text[at : found.start()] + f"<{found.group(1)}>")
        at = _group_end(text, found.end())
    out.append(text[at:])
    return "/" + "".join(out) + ("*" if prefix_only else "")


def _group_end(text: str, start: int) -> int:
    """The index after the parenthesis closing the group whose body starts at ``start``."""
    depth, index = 1, start
    while index < len(text) and depth:
        char = text[index]
        if char == "\\":
            index += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        index += 1
    return index


# Recording never fails what it records (a request, a build): a metrics directory removed
# under a worker costs figures, not answers.


def request_started() -> None:
    try:
        IN_FLIGHT.inc()
    except Exception as exc:  # noqa: BLE001
        _warn("request not counted", exc)


def record_request(request, status: int, seconds: float, queries: int) -> None:
    """A request answered (after ``request_started``)."""
    try:
        IN_FLIGHT.dec()
        route = route_of(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(route, method, str(status)).inc()
        LATENCY.labels(route, method).observe(seconds)
        QUERIES.labels(route).observe(queries)
    except Exception as exc:  # noqa: BLE001
        _warn("request not counted", exc)


def record_snapshot(snapshot, *, built: bool) -> None:
    """A snapshot is now held by this process (``built``: read from the database here)."""
    try:
        SNAPSHOT_VERSION.set(snapshot.version or 0)
        SNAPSHOT_BUILT.set(snapshot.built_at)
        if built:
            SNAPSHOT_BUILD.observe(snapshot.built_in)
    except Exception as exc:  # noqa: BLE001
        _warn("screen snapshot not counted", exc)


# --- reading (the operator views) ----------------------------------------------------


@dataclass(frozen=True)
class RouteFigures:
    route: str
    requests: int
    errors_5xx: int
    buckets: tuple[tuple[float, float], ...]  # (upper bound, cumulative count), +Inf last

    def quantile(self, q: float) -> float | None:
        """Estimated from the buckets, as PromQL's ``histogram_quantile`` does."""
        return bucket_quantile(q, self.buckets)


def bucket_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """
    The ``q`` quantile of a histogram given as (upper bound, cumulative count) pairs: linear
    within the bucket it falls in; in the +Inf bucket, the highest finite bound.
    """
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def by_route(families: Iterable[Metric]) -> list[RouteFigures]:
    """Per route (methods together): requests, 5xx answers and the latency buckets."""
    requests: dict[str, int] = {}
    errors: dict[str, int] = {}
    buckets: dict[str, dict[float, float]] = {}
    for family in families:
        if family.name == REQUESTS._name:
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    route = sample.labels["route"]
                    requests[route] = requests.get(route, 0) + int(sample.value)
                    if sample.labels["status"].startswith("5"):
                        errors[route] = errors.get(route, 0) + int(sample.value)
        elif family.name == LATENCY._name:
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    per_route = buckets.setdefault(sample.labels["route"], {})
                    bound = float(sample.labels["le"])
                    per_route[bound] = per_route.get(bound, 0.0) + sample.value
    return [
        RouteFigures(
            route=route,
            requests=requests.get(route, 0),
            errors_5xx=errors.get(route, 0),
            buckets=tuple(sorted(buckets.get(route, {}).items())),
        )
        for route in sorted(set(requests) | set(buckets))
    ]


def gauge_values(families: Iterable[Metric], gauge: Gauge) -> list[float]:
    """The gauge's values: one, or one per live worker (``liveall`` under gunicorn)."""
    for family in families:
        if family.name == gauge._name:
            return [sample.value for sample in family.samples]
    return []


def clear() -> None:
    """Forget every figure this process holds (tests; Redis's are the cache's to clear)."""
    for metric in (REQUESTS, LATENCY, QUERIES, CACHE_LOOKUPS):
        metric.clear()
    for gauge in (IN_FLIGHT, SNAPSHOT_VERSION, SNAPSHOT_BUILT):
        gauge.set(0)
    for counter in SHARED:
        counter.local.clear()
    _warned_at.clear()
