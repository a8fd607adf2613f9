"""
Steady HTTP load for the live tests, every answer counted: status, latency, when.

``Load`` runs client threads, each sending GETs (one connection per request, as a load
balancer's clients do) for paths drawn from ``paths`` until stopped. ``Probe`` polls one
path on a fixed period alongside. Both keep every sample, so a test can ask what happened
in any window (before, during and after a fault) and print the figures.
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    at: float  # monotonic time the request was sent
    seconds: float
    path: str
    status: int | str  # the HTTP status, or what went wrong ("truncated", "ConnectionError")
    code: str | None  # the JSON error body's code, if any


def fetch(port: int, path: str, headers: dict | None = None, timeout: float = 30) -> Sample:
    """One GET on a new connection, as a Sample."""
    started = time.monotonic()
    code = None
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        status: int | str = response.status
        if status >= 400:
            code = _error_code(body)
    except http.client.IncompleteRead:
        status = "truncated"
    except (OSError, http.client.HTTPException) as exc:
        status = type(exc).__name__
    finally:
        connection.close()
    return Sample(started, time.monotonic() - started, path, status, code)


def _error_code(body: bytes) -> str | None:
    """The JSON error body's code; None for the probes' own JSON ({"status": "down"})."""
    try:
        data = json.loads(body)
        return None if "status" in data and "error" not in data else data["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "not the JSON error body"


class _Sampler:
    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _keep(self, sample: Sample) -> None:
        with self._lock:
            self.samples.append(sample)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def between(self, start: float = 0.0, end: float = float("inf")) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if start <= s.at < end]


class Load(_Sampler):
    """``clients`` threads sending GETs for paths from ``paths`` (a list, or a function)."""

    def __init__(
        self, port: int, paths: list[str] | Callable[[], str], clients: int,
        headers: dict | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.port, self.headers = port, headers
        self._paths = paths if callable(paths) else itertools.cycle(paths).__next__
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def _client(self) -> None:
        while not self.stop.is_set():
            self._keep(fetch(self.port, self._paths(), self.headers))


class Probe(_Sampler):
    """GET ``path`` every ``period`` seconds (or as soon as the last answered, if later)."""

    def __init__(self, port: int, path: str, period: float = 0.25) -> None:
        super().__init__()
        self.port, self.path, self.period = port, path, period
        self._threads = [threading.Thread(target=self._poll, daemon=True)]

    def _poll(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            self._keep(fetch(self.port, self.path))
            self.stop.wait(max(0.0, self.period - (time.monotonic() - started)))


@dataclass(frozen=True)
class Fault:
    """When a fault began and ended under load, and the samples on each side of it."""

    started_at: float
    ended_at: float
    finished_at: float

    @classmethod
    def run(cls, begin, end, *, before: float, during: float, after: float) -> Fault:
        """Sleep ``before``, ``begin()``, sleep ``during``, ``end()``, sleep ``after``."""
        time.sleep(before)
        started = time.monotonic()
        begin()
        time.sleep(during)
        ended = time.monotonic()
        end()
        time.sleep(after)
        return cls(started, ended, time.monotonic())

    def before(self, sampler: _Sampler, settle: float = 0.0) -> list[Sample]:
        """Answered before the fault (from ``settle`` seconds after the first sample)."""
        first = sampler.samples[0].at + settle if sampler.samples else 0.0
        return [s for s in sampler.between(first, self.started_at)
                if s.at + s.seconds < self.started_at]  # fmt: skip

    def during(self, sampler: _Sampler) -> list[Sample]:
        """Sent before the fault ended and answered after it began (in flight counts)."""
        return [s for s in sampler.between(end=self.ended_at)
                if s.at + s.seconds >= self.started_at]  # fmt: skip

    def after(self, sampler: _Sampler, settle: float = 0.0) -> list[Sample]:
        return sampler.between(self.ended_at + settle)


def percentile(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def figures(what: str, samples: list[Sample], seconds: float | None = None) -> str:
    """One line: requests, answers by status (and error code), rate, p50 and p99, slowest."""
    statuses = Counter(
        f"{s.status} {s.code}" if s.code else str(s.status) for s in samples
    ).most_common()
    latencies = [s.seconds for s in samples]
    rate = f", {len(samples) / seconds:.0f} req/s" if seconds else ""
    line = (
        f"{what}: {len(samples)} requests{rate}, "
        f"{sum(1 for s in samples if s.status != 200)} not 200 "
        f"({', '.join(f'{k}: {n}' for k, n in statuses)}), "
        f"p50 {percentile(latencies, 50) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.0f} ms, "
        f"slowest {max(latencies, default=0) * 1000:.0f} ms"
    )
    print(line)
    return line


def random_screen(rng: random.Random | None = None) -> str:
    """A screen few callers share: a cache miss, most times."""
    rng = rng or random.Random()
    return f"/api/stocks/?price_min={rng.uniform(1, 50):.4f}&ordering=-market_cap&page_size=20"


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else 0.0
