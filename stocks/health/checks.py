"""The checks: one small class per dependency."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psutil
from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone

from .. import database_guard
from ..db_introspection import describe_error, pending_migrations
from .base import DEGRADED, CheckDegraded, CheckDown, HealthCheck


class DatabaseCheck(HealthCheck):
    """
    A round trip to the database. On a server (MySQL, PostgreSQL) it opens a connection of
    its own in the check's thread, cut at the time limit (``database_guard.round_trip``):
    the request's persistent connection could be stuck on a frozen server for as long as
    TCP takes to notice. While this process knows the server does not answer (a round trip,
    a web request's or this check's own, timed out and no probe has been answered since), it
    says so at once; a round trip of this check that is cut opens the process's breaker too.
    """

    name, category, uses_database = "database", "database", True

    @property
    def inline(self) -> bool:
        return connections[DEFAULT_DB_ALIAS].vendor == "sqlite"  # a local file: no network

    def check(self):
        connection = connections[DEFAULT_DB_ALIAS]
        if (silent_for := database_guard.open_for()) is not None:
            raise CheckDown(f"{connection.vendor} has not answered for {silent_for:.1f}s")
        try:
            if self.inline:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchone()
            else:
                database_guard.round_trip(connection, settings.HEALTH_CHECK_TIMEOUT_SECONDS)
        except DatabaseError as exc:
            raise CheckDown(f"{connection.vendor} unreachable ({describe_error(exc)})") from exc
        return f"{connection.vendor} answered", {"vendor": connection.vendor}


class MigrationsCheck(HealthCheck):
    """Every migration on disk is applied."""

    name, category, uses_database, inline = "migrations", "database", True, True

    def check(self):
        try:
            pending = pending_migrations(DEFAULT_DB_ALIAS)
        except DatabaseError as exc:
            raise CheckDown(f"cannot read migration state ({describe_error(exc)})") from exc
        if pending:
            raise CheckDown(
                f"{len(pending)} migration(s) not applied: {', '.join(pending[:5])}",
                {"pending": pending},
            )
        return "all migrations applied", {"pending": []}


class CacheCheck(HealthCheck):
    """Write, read back and delete a key. A broken cache degrades: the API reads the database."""

    name, category, timeout_status = "cache", "cache", DEGRADED

    def check(self):
        key, value = f"health:{uuid.uuid4().hex}", uuid.uuid4().hex
        cache = caches["default"]
        backend = type(cache).__name__
        try:
            cache.set(key, value, timeout=10)
            read = cache.get(key)
            cache.delete(key)
        except Exception as exc:
            raise CheckDegraded(f"{backend} failed: {type(exc).__name__}") from exc
        if read != value:
            raise CheckDegraded(f"{backend} did not return what was written")
        return f"{backend} read/write ok", {"backend": backend}


def _celery_app():
    from stockscanner_django.celery import app

    return app


def _broker_budget() -> float:
    # Half the check's time: the Redis transport overruns a ping's reply window by up to
    # ~0.6 s (it polls), and a check that overruns is reported as not answering at all.
    return settings.HEALTH_CHECK_TIMEOUT_SECONDS / 2


def _broker_connection(timeout: float):
    """A connected broker connection, or the error; one immediate retry, no backoff sleep."""
    conn = _celery_app().connection_for_write(
        connect_timeout=timeout,
        # Redis: without a socket timeout a broker that accepts and never answers would
        # hold the check's thread for good.
        transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
    )
    try:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
    except Exception:
        conn.release()
        raise
    return conn


class BrokerCheck(HealthCheck):
    """The Celery broker accepts a connection."""

    name, category, timeout_status = "broker", "queue", DEGRADED

    def check(self):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return "eager mode: tasks run inline, no broker"
        try:
            with _broker_connection(_broker_budget()) as conn:
                transport = conn.transport_cls
        except Exception as exc:
            raise CheckDegraded(f"broker unreachable: {type(exc).__name__}") from exc
        return f"broker reachable ({transport})"


class WorkersCheck(HealthCheck):
    """At least one Celery worker answers a ping."""

    name, category, timeout_status = "workers", "queue", DEGRADED

    def check(self):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return "eager mode: tasks run inline, no workers needed"
        timeout = _broker_budget()
        try:
            # Connect first, within the budget: inspect() alone would wait out Celery's own
            # connection retries when the broker is down.
            with _broker_connection(timeout) as conn:
                replies = _celery_app().control.inspect(timeout=timeout, connection=conn).ping()
        except Exception as exc:
            raise CheckDegraded(f"cannot reach workers: {type(exc).__name__}") from exc
        replies = replies or {}
        if not replies:
            raise CheckDegraded("no Celery worker answered")
        return f"{len(replies)} worker(s) answered", {"workers": sorted(replies)}


def data_path() -> Path:
    """Where the data lives: the SQLite file's directory, else the project directory."""
    database = settings.DATABASES[DEFAULT_DB_ALIAS]
    if database["ENGINE"].endswith("sqlite3") and not str(database["NAME"]).startswith(":"):
        return Path(database["NAME"]).resolve().parent
    return Path(settings.BASE_DIR)


class DiskCheck(HealthCheck):
    """Free space where the data lives."""

    name, category = "disk", "system"

    def check(self):
        path = data_path()
        usage = shutil.disk_usage(path)
        free = usage.free / usage.total * 100
        details = {"path": str(path), "free_percent": round(free, 1), "free_bytes": usage.free}
        message = f"{free:.1f}% free on {path}"
        if free < settings.HEALTH_DISK_CRITICAL_FREE_PERCENT:
            raise CheckDown(message)
        if free < settings.HEALTH_DISK_MIN_FREE_PERCENT:
            raise CheckDegraded(message)
        return message, details


# Where memory limits are (cgroup v2), and which cgroup this process is in. Outside a
# limited cgroup the files are absent or say "max", and the system's memory is what counts.
CGROUP_DIR = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def _own_cgroup() -> Path:
    """This process's cgroup directory ("0::/system.slice/app.service", or "0::/" inside a
    container with its own cgroup namespace)."""
    try:
        for line in PROC_CGROUP.read_text().splitlines():
            if line.startswith("0::"):
                return CGROUP_DIR / line[3:].strip().lstrip("/")
    except OSError:
        pass
    return CGROUP_DIR


def _memory_at(directory: Path) -> dict[str, int] | None:
    try:
        limit = (directory / "memory.max").read_text().strip()
        if limit == "max":
            return None
        current = int((directory / "memory.current").read_text())
        stat = dict(line.split() for line in (directory / "memory.stat").read_text().splitlines())
    except (OSError, ValueError):
        return None
    # The working set: use minus reclaimable file cache, as the OOM killer (and Kubernetes)
    # count it.
    working_set = max(0, current - int(stat.get("inactive_file", 0)))
    return {"limit_bytes": int(limit), "used_bytes": working_set}


def container_memory() -> dict[str, int] | None:
    """
    The memory limit closest to being reached among this process's cgroup and its
    ancestors (a service's own MemoryMax=, a pod's limit above it), with that cgroup's
    working set; None when no limit applies.
    """
    tightest = None
    directory = _own_cgroup()
    while True:
        level = _memory_at(directory)
        if level and (
            tightest is None
            or level["used_bytes"] / level["limit_bytes"]
            > tightest["used_bytes"] / tightest["limit_bytes"]
        ):
            tightest = level
        if directory == CGROUP_DIR or CGROUP_DIR not in directory.parents:
            return tightest
        directory = directory.parent


def memory_in_use() -> tuple[float, str, dict]:
    """(percent in use, what it is a percent of, details): the container's, else the system's."""
    container = container_memory()
    if container:
        percent = container["used_bytes"] / container["limit_bytes"] * 100
        return percent, f"the container's {container['limit_bytes'] // 2**20} MiB", container
    memory = psutil.virtual_memory()
    details = {"available_bytes": memory.available, "total_bytes": memory.total}
    return memory.percent, f"{memory.total // 2**20} MiB", details


class MemoryCheck(HealthCheck):
    """Memory in use: of the container's limit when there is one (a host with memory to spare
    does not save a container from its OOM killer), else of the system."""

    name, category = "memory", "system"

    def check(self):
        percent, of_what, details = memory_in_use()
        message = f"{percent:.1f}% of {of_what} in use"
        if percent >= settings.HEALTH_MEMORY_CRITICAL_PERCENT:
            raise CheckDown(message)
        if percent >= settings.HEALTH_MEMORY_MAX_PERCENT:
            raise CheckDegraded(message)
        return message, {"used_percent": round(percent, 1), **details}


class LoadCheck(HealthCheck):
    """One-minute load average per CPU."""

    name, category = "cpu", "system"

    def check(self):
        cpus = os.cpu_count() or 1
        load1, load5, load15 = os.getloadavg()
        per_cpu = load1 / cpus
        message = f"load {load1:.2f} on {cpus} CPU(s) ({per_cpu:.2f} per CPU)"
        if per_cpu >= settings.HEALTH_LOAD_MAX_PER_CPU:
            raise CheckDegraded(message)
        return message, {"load": [load1, load5, load15], "cpus": cpus, "per_cpu": per_cpu}


class FreshnessCheck(HealthCheck):
    """The newest quote is within the refresh interval plus grace (of open-market time)."""

    name, category, uses_database, inline = "freshness", "data", True, True

    def check(self):
        from ..market_calendar import stale_threshold
        from ..models import Stock

        details = Stock.objects.quote_freshness(stale_threshold(timezone.now()))
        newest, stale = details["newest_quote"], details["stale_stocks"]
        if newest is None:
            raise CheckDegraded("no quotes stored", details)
        if newest < details["stale_before"]:
            raise CheckDegraded(f"market data is stale: newest quote {newest.isoformat()}", details)
        return f"newest quote {newest.isoformat()}, {stale} stale stock(s)", details


class ProviderCheck(HealthCheck):
    """
    The market-data provider's circuit breakers (``stocks.providers.breaker``), one per
    endpoint (quotes, bars, listings), shared by the workers: any open or half-open
    degrades (those refreshes are being skipped); all closed is ok.
    """

    name, category, timeout_status = "provider", "data", DEGRADED

    def check(self):
        from ..providers.breaker import CLOSED, ENDPOINTS, CircuitBreaker

        provider = settings.MARKET_DATA_PROVIDER
        states = [CircuitBreaker(provider, endpoint).state() for endpoint in ENDPOINTS]
        details = {"provider": provider, "endpoints": {s.endpoint: s.as_dict() for s in states}}
        tripped = [s for s in states if s.state != CLOSED]
        if not tripped:
            failures = sum(s.failures for s in states)
            return f"{provider}: every circuit closed ({failures} recent failure(s))", details
        said = "; ".join(
            f"{s.endpoint} {s.state}" + (f" until {s.reopens_at}" if s.reopens_at else "")
            for s in tripped
        )
        raise CheckDegraded(f"{provider}: circuit {said}; those refreshes are skipped", details)
