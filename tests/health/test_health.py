"""Health checks, the load balancer and readiness endpoints, and the operator views."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import django
import kombu.pools
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from stocks.health import DEGRADED, DOWN, OK, HealthCheck, checks, run_checks
from stocks.models import PriceBar, SearchTerm, Stock
from stockscanner_django.celery import app as celery_app

from ..factories import PriceBarFactory, StockFactory

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/14"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
CLOSED_PORT = 1  # nothing listens on tcpmux: connections are refused at once

OPERATOR_PATHS = (
    "/health/detailed/",
    "/health/metrics/",
    "/health/performance/",
    "/health/database/",
    "/system/memory/",
)
CATEGORIES = {
    "database": ["database", "migrations"],
    "cache": ["cache"],
    "queue": ["broker", "workers"],
    "system": ["disk", "memory", "cpu"],
    "data": ["freshness", "provider"],
}


# --- services -----------------------------------------------------------------------------


def _service(name: str, url: str) -> str:
    """The URL if the service answers; else skip (or fail under STOCKSCANNER_REQUIRE_SERVICES)."""
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=1).close()
    except OSError:
        message = f"{name} is not reachable at {parts.hostname}:{parts.port}"
        if os.environ.get("STOCKSCANNER_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def redis_url() -> str:
    return _service("Redis", REDIS_URL)


@pytest.fixture
def rabbitmq_url() -> str:
    return _service("RabbitMQ", RABBITMQ_URL)


@pytest.fixture
def hung_port():
    """A port that accepts connections and never answers: a hung service."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def redis_cache(location: str, *, ignore_exceptions: bool = True) -> dict:
    """CACHES as production sets them for REDIS_URL."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": "stockscanner-health-tests",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                "IGNORE_EXCEPTIONS": ignore_exceptions,
            },
        }
    }


def _drop_celery_pools() -> None:
    # Celery reads its settings from Django's on each use, but keeps connection and
    # producer pools (its own, and kombu's per URL) and its control mailbox from the first.
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.__dict__.pop("control", None)


@pytest.fixture
def control_exchange() -> str:
    """A control exchange of this test's own: other test runs' workers cannot answer on it."""
    return f"health-tests-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def use_broker(settings, control_exchange):
    """Turn eager mode off and point Celery at a broker URL."""

    def use(url: str) -> None:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.CELERY_BROKER_URL = url
        settings.CELERY_CONTROL_EXCHANGE = control_exchange
        _drop_celery_pools()

    yield use
    _drop_celery_pools()


# The worker listens on the test's control exchange (the production settings name none).
WORKER = """\
import sys
from stockscanner_django.celery import app
app.conf.control_exchange = sys.argv[1]
app.worker_main(sys.argv[2:])
"""


@pytest.fixture
def celery_worker(redis_url, control_exchange, settings):
    """A real solo Celery worker on the Redis broker; yields its node name once it is ready."""
    node = f"{control_exchange}@localhost"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stockscanner_django.settings",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    command = [sys.executable, "-c", WORKER, control_exchange, "worker", "--pool", "solo"]
    command += ["--hostname", node, "--queues", control_exchange, "--loglevel", "INFO"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    worker = subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready, output = threading.Event(), []

    def read() -> None:  # to the end, so the worker never blocks on a full pipe
        for line in worker.stdout:
            output.append(line)
            if f"{node} ready." in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(timeout=60):
            pytest.fail("the Celery worker did not start:\n" + "".join(output))
        yield node
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        reader.join(timeout=5)


# --- other fixtures -----------------------------------------------------------------------


@pytest.fixture
def pending_migration() -> str:
    """The newest stocks migration is no longer recorded as applied (rolled back after)."""
    loader = MigrationLoader(connection)
    (app_label, name) = next(n for n in loader.graph.leaf_nodes() if n[0] == "stocks")
    MigrationRecorder(connection).record_unapplied(app_label, name)
    return f"{app_label}.{name}"


@pytest.fixture
def calm_system(settings):
    """Thresholds no machine trips, so the system checks do not depend on this box."""
    settings.HEALTH_DISK_MIN_FREE_PERCENT = 0
    settings.HEALTH_DISK_CRITICAL_FREE_PERCENT = 0
    settings.HEALTH_MEMORY_MAX_PERCENT = 101
    settings.HEALTH_MEMORY_CRITICAL_PERCENT = 101
    settings.HEALTH_LOAD_MAX_PER_CPU = 1e9


def run(name: str):
    (result,) = run_checks([name])
    return result


class Blocking(HealthCheck):
    """A check that answers only when released."""

    name, category = "blocking", "test"

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def check(self):
        self.release.wait(timeout=30)
        return "released"


class Broken(HealthCheck):
    """A check with a bug in it."""

    name, category = "broken", "test"

    def check(self):
        raise RuntimeError("password=hunter2 at db.internal.example")


# --- the checks ---------------------------------------------------------------------------


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


def health_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"health-{name}" and t.is_alive()]


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


@pytest.mark.parametrize(
    ("minimum", "critical", "status"),
    [(0, 0, OK), (100.1, 0, DEGRADED), (100.1, 100.1, DOWN)],
)
def test_disk_check__thresholds(settings, minimum, critical, status):
    """Free disk under the minimum degrades, under the critical level is down."""
    settings.HEALTH_DISK_MIN_FREE_PERCENT = minimum
    settings.HEALTH_DISK_CRITICAL_FREE_PERCENT = critical
    result = run("disk")
    assert result.status == status
    assert "% free on " in result.message


@pytest.mark.parametrize(
    ("maximum", "critical", "status"),
    [(101, 101, OK), (0, 101, DEGRADED), (0, 0, DOWN)],
)
def test_memory_check__thresholds(settings, maximum, critical, status):
    """Memory in use over the maximum degrades, over the critical level is down."""
    settings.HEALTH_MEMORY_MAX_PERCENT = maximum
    settings.HEALTH_MEMORY_CRITICAL_PERCENT = critical
    result = run("memory")
    assert result.status == status
    assert "% of " in result.message


def write_cgroup(directory, limit: str, current: int, inactive_file: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "memory.max").write_text(f"{limit}\n")
    (directory / "memory.current").write_text(f"{current}\n")
    (directory / "memory.stat").write_text(f"anon 1\ninactive_file {inactive_file}\nfile 2\n")


@pytest.fixture
def cgroups(tmp_path, monkeypatch):
    """An empty cgroup v2 tree under tmp_path; the process's own cgroup is set by the test."""
    root = tmp_path / "cgroup"
    root.mkdir()
    monkeypatch.setattr(checks, "CGROUP_DIR", root)
    monkeypatch.setattr(checks, "PROC_CGROUP", tmp_path / "self-cgroup")

    def place(path: str):
        (tmp_path / "self-cgroup").write_text(f"0::{path}\n")
        return root / path.lstrip("/")

    return place


@pytest.fixture
def container(cgroups):
    """A container's own cgroup namespace: a 1 GiB limit, 900 MiB charged, 100 reclaimable."""
    root = cgroups("/")
    write_cgroup(root, str(2**30), 900 * 2**20, 100 * 2**20)
    return root


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


# --- running checks -----------------------------------------------------------------------


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


# --- /health/, /health/live/, /health/ready/ ----------------------------------------------


def test_health__ok(api):
    """The load balancer's check: 200 and nothing else."""
    response = api.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health__503_when_the_database_is_down(api, settings, mailoutbox, database_down):
    """Database down: 503 naming the check, fast, and no mail to ADMINS."""
    settings.ADMINS = [("Ops", "ops@example.com")]
    started = time.perf_counter()
    response = api.get("/health/")
    elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert response.json() == {"status": "down", "checks": {"database": {"status": "down"}}}
    assert elapsed < 0.5
    assert mailoutbox == []


@pytest.mark.parametrize(
    "path", ["/health/", "/health/live/", "/health/ready/", "/health", "/health/live"]
)
def test_probes__answer_a_load_balancer_calling_by_ip_over_http(api, settings, path):
    """A probe sent to the instance's own address, over HTTP, is answered: no host check
    (ALLOWED_HOSTS would 400 it) and no HTTPS redirect (it would 301)."""
    settings.ALLOWED_HOSTS = ["api.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    response = api.get(path, HTTP_HOST="10.0.3.17:8000")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ok"
    assert api.get("/api/stocks/", HTTP_HOST="10.0.3.17:8000").status_code == 400
    assert api.get("/api/stocks/", HTTP_HOST="api.example.com").status_code == 301


def test_health_live__ok_even_when_the_database_is_down(api, monkeypatch):
    """Liveness touches nothing: with every database connection refused it still answers."""
    wrapper = type(connections[DEFAULT_DB_ALIAS])

    def refuse(*args, **kwargs):
        raise django.db.OperationalError("simulated outage")

    connection.close()
    monkeypatch.setattr(wrapper, "ensure_connection", refuse)
    monkeypatch.setattr(wrapper, "get_new_connection", refuse)
    assert api.get("/health/").status_code == 503
    response = api.get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_ready__ok(api):
    """Database, cache and migrations fine: ready."""
    response = api.get("/health/ready/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_ready__200_when_only_the_cache_is_degraded(api, settings):
    """A dead cache degrades readiness but keeps the instance in rotation."""
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{CLOSED_PORT}/0")
    response = api.get("/health/ready/")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "checks": {"cache": {"status": "degraded"}}}


def test_health_ready__503_when_migrations_are_pending(
    api, settings, mailoutbox, pending_migration
):
    """Unapplied migrations: not ready."""
    settings.ADMINS = [("Ops", "ops@example.com")]
    response = api.get("/health/ready/")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "checks": {"migrations": {"status": "down"}}}
    assert mailoutbox == []


# --- operator views: who may read them ----------------------------------------------------


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_operator_view__401_without_credentials(api, health_token, path):
    """Anonymous: 401 JSON error with a Bearer challenge."""
    response = api.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="health"'
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_operator_view__401_with_a_wrong_token(api, health_token, path):
    """A wrong bearer token: 401."""
    response = api.get(path, HTTP_AUTHORIZATION="Bearer not-the-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="health"'
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_operator_view__401_with_any_token_when_none_is_configured(api, settings, path):
    """HEALTH_TOKEN empty disables token access: every bearer is refused."""
    settings.HEALTH_TOKEN = ""
    response = api.get(path, HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_operator_view__403_for_a_user_who_is_not_staff(api, django_user_model, path):
    """Logged in but not staff: 403."""
    api.force_login(django_user_model.objects.create_user(username="viewer", password="x"))
    response = api.get(path)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_operator_view__200_for_a_staff_session(api, django_user_model, calm_system, path):
    """A staff session may read it; the answer is never cached."""
    staff = django_user_model.objects.create_user(username="ops", password="x", is_staff=True)
    api.force_login(staff)
    response = api.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_operator_view__200_for_the_health_token(operator, calm_system, path):
    """The right bearer token may read it; the answer is never cached."""
    response = operator.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


# --- operator views: what they show -------------------------------------------------------


def test_detailed__every_check_by_category(operator, calm_system):
    """Every check grouped by category, the overall status and the versions."""
    StockFactory()
    body = operator.get("/health/detailed/").json()
    assert body["status"] == "ok"
    assert {c: [r["name"] for r in rows] for c, rows in body["categories"].items()} == CATEGORIES
    for rows in body["categories"].values():
        for row in rows:
            assert row["status"] == "ok", row
            assert set(row) == {"name", "category", "status", "message", "duration_ms", "details"}
    assert set(body["versions"]) == {
        "python",
        "app",
        "django",
        "djangorestframework",
        "celery",
        "django-redis",
        "gunicorn",
    }
    assert body["versions"]["django"] == django.__version__


def test_detailed__503_when_a_check_is_down(operator, calm_system, settings, mailoutbox):
    """A check down makes the whole report down (503), without mailing ADMINS."""
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.HEALTH_DISK_MIN_FREE_PERCENT = settings.HEALTH_DISK_CRITICAL_FREE_PERCENT = 100.1
    response = operator.get("/health/detailed/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["categories"]["system"][0]["status"] == "down"
    assert mailoutbox == []


def test_detailed__unexpected_error_shows_no_internals(operator, calm_system, monkeypatch):
    """A check that blows up is reported down without its exception text."""
    monkeypatch.setattr(checks.DiskCheck, "check", Broken.check)
    response = operator.get("/health/detailed/")
    assert response.status_code == 503
    assert b"hunter2" not in response.content
    assert b"Traceback" not in response.content


def test_database__vendor_tables_and_indexes(operator):
    """The vendor, each app table with its row count, and every declared index present."""
    stock = StockFactory()
    StockFactory()
    PriceBarFactory.create_batch(3, stock=stock)
    body = operator.get("/health/database/").json()
    assert body["vendor"] == connection.vendor
    assert body["version"]
    rows = {t["table"]: t["rows"] for t in body["tables"]}
    assert rows[Stock._meta.db_table] == 2
    assert rows[PriceBar._meta.db_table] == 3
    assert rows[SearchTerm._meta.db_table] == SearchTerm.objects.count() > 0
    names = {i["name"] for i in body["indexes"]}
    assert {"stock_price_act_idx", "stock_screen_idx", "pricebar_stock_date_uniq"} <= names
    assert all(i["present"] for i in body["indexes"])
    assert body["missing_indexes"] == []


@pytest.fixture
def dropped_price_index(transactional_db):
    """stock_price_act_idx dropped from the database (and created again after the test)."""
    (index,) = [i for i in Stock._meta.indexes if i.name == "stock_price_act_idx"]
    with connection.schema_editor() as editor:
        editor.remove_index(Stock, index)
    yield index.name
    with connection.schema_editor() as editor:
        editor.add_index(Stock, index)


@pytest.mark.django_db(transaction=True)
def test_database__reports_a_dropped_index_missing(operator, dropped_price_index):
    """A declared index the database lacks is listed as missing."""
    body = operator.get("/health/database/").json()
    assert body["missing_indexes"] == [dropped_price_index]
    (row,) = [i for i in body["indexes"] if i["name"] == dropped_price_index]
    assert row == {
        "table": Stock._meta.db_table,
        "name": dropped_price_index,
        "columns": ["price", "is_active"],
        "unique": False,
        "present": False,
    }


def test_memory__process_system_and_gunicorn(operator, settings, cgroups):
    """This process's RSS, the system's memory and the gunicorn settings."""
    cgroups("/")  # no memory limit anywhere
    body = operator.get("/system/memory/").json()
    assert body["process"]["pid"] == os.getpid()
    assert body["process"]["rss_bytes"] > 0
    system = body["system"]
    assert system["total_bytes"] >= system["available_bytes"] > 0
    assert 0 <= system["used_percent"] <= 100
    assert body["container"] is None
    assert body["gunicorn"] == settings.GUNICORN
    assert body["gunicorn"]["threads"] >= 1
    assert set(body["gunicorn"]) >= {"workers", "timeout", "graceful_timeout", "max_requests"}
