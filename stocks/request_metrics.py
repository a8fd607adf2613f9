"""
Recent request latencies per endpoint and recent slow queries, kept in this process.

Each gunicorn worker keeps its own window (the last ``WINDOW`` requests per endpoint);
the operator views report the window of the worker that answers them.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass

WINDOW = 1000
SLOW_QUERIES_KEPT = 50


@dataclass(frozen=True)
class SlowQuery:
    sql: str
    duration_ms: float
    endpoint: str
    at: float


class RequestMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latencies: dict[str, deque[float]] = {}
        self._errors: dict[str, int] = {}
        self._counts: dict[str, int] = {}
        self._slow_queries: deque[SlowQuery] = deque(maxlen=SLOW_QUERIES_KEPT)

    def record_request(self, endpoint: str, duration_ms: float, status: int) -> None:
        with self._lock:
            self._latencies.setdefault(endpoint, deque(maxlen=WINDOW)).append(duration_ms)
            self._counts[endpoint] = self._counts.get(endpoint, 0) + 1
            if status >= 500:
                self._errors[endpoint] = self._errors.get(endpoint, 0) + 1

    def record_slow_query(self, sql: str, duration_ms: float, endpoint: str) -> None:
        with self._lock:
            self._slow_queries.append(SlowQuery(sql[:2000], duration_ms, endpoint, time.time()))

    def endpoints(self) -> list[dict]:
        """Per endpoint: requests seen, 5xx count, and p50/p95/p99/max over the window."""
        with self._lock:
            windows = {name: list(values) for name, values in self._latencies.items()}
            counts, errors = dict(self._counts), dict(self._errors)
        rows = []
        for name, values in sorted(windows.items()):
            rows.append(
                {
                    "endpoint": name,
                    "requests": counts[name],
                    "errors_5xx": errors.get(name, 0),
                    "window": len(values),
                    **percentiles(values),
                }
            )
        return rows

    def slow_queries(self) -> list[dict]:
        with self._lock:
            queries = list(self._slow_queries)
        return [
            {"sql": q.sql, "duration_ms": round(q.duration_ms, 2), "endpoint": q.endpoint,
             "at": q.at}
            for q in sorted(queries, key=lambda q: q.duration_ms, reverse=True)
        ]  # fmt: skip

    def reset(self) -> None:
        with self._lock:
            self._latencies.clear()
            self._errors.clear()
            self._counts.clear()
            self._slow_queries.clear()


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    if len(values) == 1:
        only = round(values[0], 2)
        return {"p50_ms": only, "p95_ms": only, "p99_ms": only, "max_ms": only}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50_ms": round(statistics.median(values), 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
        "max_ms": round(max(values), 2),
    }


metrics = RequestMetrics()
