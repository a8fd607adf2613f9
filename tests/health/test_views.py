"""The probes (/health/, /health/live/, /health/ready/) and the operator views
(stocks/health/views.py)."""

from __future__ import annotations

import os
import time

import django
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from stocks.health import checks
from stocks.models import PriceBar, SearchTerm, Stock

from ..factories import PriceBarFactory, StockFactory
from .helpers import CATEGORIES, CLOSED_PORT, OPERATOR_PATHS, Broken, redis_cache

pytestmark = pytest.mark.django_db


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
