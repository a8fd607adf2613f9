"""The health checks (stocks/health/checks.py) and how they run (stocks/health/base.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import django
import pytest
from django.db import connection
from django.utils import timezone

from stocks.health import DEGRADED, DOWN, OK, run_checks

from ..factories import StockFactory
from .helpers import CLOSED_PORT, Blocking, Broken, health_threads, redis_cache, run, write_cgroup

pytestmark = pytest.mark.django_db


def test_database_check__ok():
    """The database check answers ok with the vendor."""
    result = run("database")
    assert (result.status, result.message) == (OK, f"{connection.vendor} answered")
    assert result.details == {"vendor": connection.vendor}


def test_database_check__down_when_unreachable(database_down):
    """A database that refuses connections is down."""
    result = run("database")
    assert result.status == DOWN
    assert result.message.startswith(f"{connection.vendor} unreachable (OperationalError")


def test_migrations_check__ok():
    """Every migration applied: ok."""
    assert run("migrations").status == OK


def test_migrations_check__down_when_pending(pending_migration):
    """A migration on disk that is not applied: down, naming it."""
    result = run("migrations")
    assert result.status == DOWN
    assert result.message == f"1 migration(s) not applied: {pending_migration}"


def test_cache_check__ok_with_local_memory():
    """The test cache (local memory) reads back what was written."""
    result = run("cache")
    assert (result.status, result.message) == (OK, "LocMemCache read/write ok")


@pytest.mark.parametrize("ignore_exceptions", [True, False])
def test_cache_check__degraded_when_redis_refuses(settings, ignore_exceptions):
    """django-redis at a closed port degrades, whether it raises or swallows its errors."""
    location = f"redis://127.0.0.1:{CLOSED_PORT}/0"
    settings.CACHES = redis_cache(location, ignore_exceptions=ignore_exceptions)
    result = run("cache")
    assert result.status == DEGRADED
    assert result.message.startswith("RedisCache ")
    assert result.duration_ms < 1000


def test_cache_check__degraded_when_redis_hangs(settings, hung_port):
    """A Redis that accepts and never answers degrades after the check timeout (not down)."""
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{hung_port}/0")
    result = run("cache")
    assert (result.status, result.message) == (DEGRADED, "no answer within 0.3s")


@pytest.mark.services
def test_cache_check__ok_with_redis(settings, redis_url):
    """django-redis against the real Redis: ok."""
    settings.CACHES = redis_cache(redis_url)
    result = run("cache")
    assert (result.status, result.message) == (OK, "RedisCache read/write ok")


def test_broker_check__ok_in_eager_mode():
    """Eager mode needs no broker."""
    result = run("broker")
    assert (result.status, result.message) == (OK, "eager mode: tasks run inline, no broker")


@pytest.mark.parametrize(
    "url",
    [f"redis://127.0.0.1:{CLOSED_PORT}/0", f"amqp://guest:guest@127.0.0.1:{CLOSED_PORT}//"],
)
def test_broker_check__degraded_when_unreachable(use_broker, url):
    """A broker at a closed port degrades, at once."""
    use_broker(url)
    result = run("broker")
    assert (result.status, result.message) == (DEGRADED, "broker unreachable: OperationalError")
    assert result.duration_ms < 1000


@pytest.mark.services
@pytest.mark.parametrize(("service", "transport"), [("redis", "redis"), ("rabbitmq", "amqp")])
def test_broker_check__ok_with_real_broker(request, use_broker, service, transport):
    """The real Redis or RabbitMQ broker: ok, naming the transport."""
    use_broker(request.getfixturevalue(f"{service}_url"))
    result = run("broker")
    assert (result.status, result.message) == (OK, f"broker reachable ({transport})")


@pytest.mark.parametrize("name", ["broker", "workers"])
def test_queue_checks__degraded_when_the_broker_hangs(settings, use_broker, hung_port, name):
    """A Redis broker that accepts and never answers degrades within the check's limit."""
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 1.0
    use_broker(f"redis://127.0.0.1:{hung_port}/0")
    result = run(name)
    assert result.status == DEGRADED
    assert result.duration_ms < 1500


def test_check__a_hung_run_is_shared_not_repeated(settings):
    """While a run is hung, later runs wait on it: one thread per check, whatever the polls."""
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.1
    check = Blocking()
    try:
        first, second, third = check.run(), check.run(), check.run()
        assert len(health_threads("blocking")) == 1
    finally:
        check.release.set()
    assert first.message == "no answer within 0.1s"
    assert second.status == third.status == DOWN
    assert "before is hung" in third.message
    assert check.run().message == "released"  # the hung run ended: a new one answers


def test_check__hung_checks_do_not_starve_the_others(settings, use_broker, hung_port, calm_system):
    """Polls against a hung broker leave disk, memory and cpu answering normally."""
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    use_broker(f"redis://127.0.0.1:{hung_port}/0")
    for _ in range(4):
        results = {
            r.name: r.status for r in run_checks(["broker", "workers", "disk", "memory", "cpu"])
        }
        assert results == {
            "broker": DEGRADED,
            "workers": DEGRADED,
            "disk": OK,
            "memory": OK,
            "cpu": OK,
        }


def test_system_health_command__exits_while_the_broker_hangs(hung_port, tmp_path):
    """A monitoring script gets its exit code: hung checks never keep the process alive."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stockscanner_django.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{hung_port}/0",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "HEALTH_CHECK_TIMEOUT_SECONDS": "1",
    }
    command = [
        sys.executable,
        "manage.py",
        "system_health",
        "--json",
        "--check",
        "broker",
        "--check",
        "workers",
    ]
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=django.conf.settings.BASE_DIR, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 1, done.stderr.decode()
    assert json.loads(done.stdout)["status"] == DEGRADED
    assert time.monotonic() - started < 30


def test_workers_check__ok_in_eager_mode():
    """Eager mode needs no workers."""
    assert run("workers").status == OK


def test_workers_check__degraded_when_broker_unreachable(use_broker):
    """No broker, no workers: degraded, at once."""
    use_broker(f"redis://127.0.0.1:{CLOSED_PORT}/0")
    result = run("workers")
    assert (result.status, result.message) == (DEGRADED, "cannot reach workers: OperationalError")
    assert result.duration_ms < 1000


@pytest.mark.services
def test_workers_check__degraded_without_workers(use_broker, redis_url):
    """A reachable broker and no worker: degraded within the check timeout."""
    use_broker(redis_url)
    result = run("workers")
    assert (result.status, result.message) == (DEGRADED, "no Celery worker answered")


@pytest.mark.services
def test_workers_check__ok_with_a_worker(use_broker, celery_worker, redis_url):
    """A running worker answers the ping."""
    use_broker(redis_url)
    result = run("workers")
    assert result.status == OK, result.message
    assert celery_worker in result.details["workers"]


_DISK = ("disk", "HEALTH_DISK_MIN_FREE_PERCENT", "HEALTH_DISK_CRITICAL_FREE_PERCENT", "% free on ")
_MEMORY = ("memory", "HEALTH_MEMORY_MAX_PERCENT", "HEALTH_MEMORY_CRITICAL_PERCENT", "% of ")


@pytest.mark.parametrize(
    ("check", "thresholds", "status"),
    [
        # Free disk under the minimum degrades, under the critical level is down.
        (_DISK, (0, 0), OK), (_DISK, (100.1, 0), DEGRADED), (_DISK, (100.1, 100.1), DOWN),
        # Memory in use over the maximum degrades, over the critical level is down.
        (_MEMORY, (101, 101), OK), (_MEMORY, (0, 101), DEGRADED), (_MEMORY, (0, 0), DOWN),
    ],
)  # fmt: skip
def test_resource_checks__thresholds(settings, check, thresholds, status):
    name, warn_setting, critical_setting, message = check
    setattr(settings, warn_setting, thresholds[0])
    setattr(settings, critical_setting, thresholds[1])
    result = run(name)
    assert result.status == status
    assert message in result.message


def test_memory_check__a_limit_on_an_ancestor_cgroup_counts(settings, cgroups):
    """A service with no limit of its own, under a slice limited to 1 GiB: the slice's counts."""
    service = cgroups("/system.slice/app.service")
    write_cgroup(service, "max", 100 * 2**20, 0)
    write_cgroup(service.parent, str(2**30), 1000 * 2**20, 0)
    settings.HEALTH_MEMORY_MAX_PERCENT, settings.HEALTH_MEMORY_CRITICAL_PERCENT = 90, 95
    result = run("memory")
    assert (result.status, result.message) == (DOWN, "97.7% of the container's 1024 MiB in use")


def test_memory_check__a_container_counts_against_its_own_limit(settings, container):
    """In a container the working set (800 of 1024 MiB: 78.1%) is what the thresholds see."""
    settings.HEALTH_MEMORY_MAX_PERCENT, settings.HEALTH_MEMORY_CRITICAL_PERCENT = 75, 90
    result = run("memory")
    assert (result.status, result.message) == (DEGRADED, "78.1% of the container's 1024 MiB in use")
    (container / "memory.max").write_text("max\n")  # no limit: the system's memory counts
    assert "container" not in run("memory").message


@pytest.mark.parametrize(("maximum", "status"), [(1e9, OK), (0, DEGRADED)])
def test_cpu_check__threshold(settings, maximum, status):
    """Load per CPU at or over HEALTH_LOAD_MAX_PER_CPU degrades."""
    settings.HEALTH_LOAD_MAX_PER_CPU = maximum
    result = run("cpu")
    assert result.status == status
    assert result.message.startswith("load ")


def test_freshness_check__ok_with_a_fresh_quote():
    """A quote taken now is fresh."""
    StockFactory(quote_time=timezone.now())
    result = run("freshness")
    assert result.status == OK
    assert result.message.endswith(", 0 stale stock(s)")


def test_freshness_check__degraded_with_an_old_quote():
    """The newest quote a month old: stale data degrades."""
    StockFactory(quote_time=timezone.now() - timedelta(days=30))
    result = run("freshness")
    assert result.status == DEGRADED
    assert result.message.startswith("market data is stale")


def test_freshness_check__degraded_without_stocks():
    """No quotes at all degrades."""
    result = run("freshness")
    assert (result.status, result.message) == (DEGRADED, "no quotes stored")


def test_check__down_when_it_does_not_answer_in_time(settings):
    """A check blocking past HEALTH_CHECK_TIMEOUT_SECONDS is down and does not hold the caller."""
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.2
    check = Blocking()
    try:
        result = check.run()
    finally:
        check.release.set()
    assert (result.status, result.message) == (DOWN, "no answer within 0.2s")
    assert result.duration_ms < 1000


def test_check__unexpected_error_is_down_without_internals(caplog):
    """A bug in a check: down, a generic message, and the traceback only in the log."""
    result = Broken().run()
    assert result.status == DOWN
    assert result.message == "unexpected error (see the server log)"
    assert result.details == {}
    reported = json.dumps(result.as_dict())
    assert "hunter2" not in reported
    assert "Traceback" not in reported
    (record,) = [r for r in caplog.records if r.name == "stocks.health"]
    assert record.exc_info[0] is RuntimeError


def test_run_checks__skips_database_checks_once_the_database_is_down(database_down):
    """After the database check is down, the other database checks are not run."""
    results = {r.name: r for r in run_checks(["database", "migrations", "freshness", "cache"])}
    assert results["database"].status == DOWN
    for name in ("migrations", "freshness"):
        assert (results[name].status, results[name].message) == (DOWN, "skipped: database down")
    assert results["cache"].status == OK
