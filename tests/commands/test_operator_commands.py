"""Operator commands: optimize_database, system_health, clear_cache, system_status."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta

import pytest
import redis
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import load_command_class
from django.db import DatabaseError, connection, connections
from django.db.utils import load_backend
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stocks import data_version
from stocks.cache_namespaces import NAMESPACES, UnknownNamespace, cache_key, namespace_of
from stocks.db_introspection import declared_indexes, index_status
from stocks.health import CHECKS
from stocks.health import status as system_status_service
from stocks.health.status import mask_url
from stocks.services import database_maintenance
from stocks.services.database_maintenance import create_index

from ..support.commands import run, run_json
from ..support.redis import CLOSED_PORT_REDIS_URL

pytestmark = pytest.mark.django_db

COMMANDS = ("optimize_database", "system_health", "clear_cache", "system_status")
DROPPED_INDEX = "stock_beta_act_idx"


def index_present(name: str) -> bool:
    return {declared.name: present for declared, present in index_status()}[name]


def redis_cache_settings(url: str, **options) -> dict:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"test-operator-{uuid.uuid4().hex[:8]}",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1, **options},
        }
    }


# ---------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------


@pytest.fixture
def dropped_index(transactional_db):
    """A declared index dropped from the database (recreated afterwards if the test did not)."""
    declared = next(d for d in declared_indexes() if d.name == DROPPED_INDEX)
    with connection.schema_editor() as editor:
        editor.remove_index(declared.model, declared.definition)
    assert not index_present(DROPPED_INDEX)
    yield declared
    if not index_present(DROPPED_INDEX):
        create_index(declared)


@pytest.fixture
def unreachable_database(tmp_path):
    """A database alias whose server cannot be reached (a closed port, or no SQLite dir)."""
    alias = "unreachable"
    config = copy.deepcopy(connections["default"].settings_dict)
    if connection.vendor == "sqlite":
        config["NAME"] = str(tmp_path / "missing" / "db.sqlite3")
    else:
        config.update(HOST="127.0.0.1", PORT="1")
    # Registered as a connection, not in settings: Django's test case lets a dynamically
    # created connection connect (and the test runner never tries to create its database).
    connections[alias] = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias)
    yield alias
    connections[alias].close()
    del connections[alias]


@pytest.fixture
def relaxed_thresholds(settings):
    """System checks that pass on a busy test machine, so the outcome depends on the test."""
    settings.HEALTH_LOAD_MAX_PER_CPU = 10_000
    settings.HEALTH_MEMORY_MAX_PERCENT = settings.HEALTH_MEMORY_CRITICAL_PERCENT = 101
    settings.HEALTH_DISK_MIN_FREE_PERCENT = settings.HEALTH_DISK_CRITICAL_FREE_PERCENT = 0


@pytest.fixture
def seeded_cache(any_cache):
    """One entry per namespace (two for stocks), one outside them, and the data version."""
    entries = {
        "stocks:list:abc": 1,
        "stocks:detail:AAPL": 2,
        "search:v1:apple": 3,
        "history:AAPL:1d:1y": 4,
        "market:sectors": 5,
        "throttle:anon:192.0.2.0": 6,
        "stray-key": 7,
    }
    any_cache.set_many(entries, timeout=300)
    data_version.bump()
    data_version.bump()
    return entries


# ---------------------------------------------------------------------------------------
# all commands
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_operator_commands__help_documents_json_and_exit_codes(name):
    """--help describes the command, offers --json and lists the exit codes."""
    parser = load_command_class("stocks", name).create_parser("manage.py", name)
    help_text = " ".join(parser.format_help().split())
    assert "--json" in help_text
    assert "Exit codes: 0" in help_text
    assert ", 2 " in help_text


# ---------------------------------------------------------------------------------------
# optimize_database
# ---------------------------------------------------------------------------------------


def test_optimize_database__dry_run_lists_missing_index_and_creates_nothing(dropped_index):
    """--dry-run lists the dropped index and the statements as planned; the index stays missing."""
    result = run("optimize_database", "--dry-run")
    assert result.code == 0
    assert "dry run" in result.out
    assert f"{DROPPED_INDEX}: stocks_stock (beta, is_active)" in result.out
    assert f"planned  create index {DROPPED_INDEX} on stocks_stock (beta, is_active)" in result.out
    assert "ANALYZE" in result.out
    assert not index_present(DROPPED_INDEX)


def test_optimize_database__creates_missing_index_and_refreshes_statistics(dropped_index):
    """A real run recreates the dropped index, analyzes, and a second run finds nothing missing."""
    result = run("optimize_database")
    assert result.code == 0, result.out
    assert f"done     create index {DROPPED_INDEX}" in result.out
    assert "ANALYZE" in result.out
    assert result.out.strip().splitlines()[-1].startswith("Done:")
    assert index_present(DROPPED_INDEX)

    again = run("optimize_database")
    assert f"{len(declared_indexes())} declared, 0 missing" in again.out
    assert "create index" not in again.out


def test_optimize_database__json_reports_each_step_with_timing(dropped_index):
    """--json: status, vendor, the missing index and every step with its duration."""
    report, code = run_json("optimize_database")
    assert code == 0
    assert report["status"] == "done"
    assert report["vendor"] == connection.vendor
    assert report["dry_run"] is False
    assert [index["name"] for index in report["missing_indexes"]] == [DROPPED_INDEX]
    assert report["missing_indexes"][0]["columns"] == ["beta", "is_active"]
    names = [step["name"] for step in report["steps"]]
    assert names[0] == "inspect indexes"
    assert names[1] == f"create index {DROPPED_INDEX} on stocks_stock (beta, is_active)"
    assert all(step["status"] == "done" for step in report["steps"])
    assert all(step["duration_ms"] >= 0 for step in report["steps"])
    if connection.vendor == "sqlite":
        assert names[2:] == ["ANALYZE", "PRAGMA optimize"]
    elif connection.vendor == "postgresql":
        assert names[2:] == ["ANALYZE"]
    elif connection.vendor == "mysql":
        assert "ANALYZE TABLE `stocks_stock`" in names
    assert index_present(DROPPED_INDEX)


@pytest.mark.django_db(transaction=True)
def test_optimize_database__optimize_tables_rebuilds_only_on_mysql():
    """--optimize-tables runs OPTIMIZE TABLE on MySQL/MariaDB and is reported skipped elsewhere."""
    report, code = run_json("optimize_database", "--optimize-tables")
    assert code == 0
    steps = {step["name"]: step for step in report["steps"]}
    if connection.vendor == "mysql":
        assert steps["OPTIMIZE TABLE `stocks_pricebar`"]["status"] == "done"
        assert steps["ANALYZE TABLE `stocks_pricebar`"]["status"] == "done"
    else:
        assert steps["OPTIMIZE TABLE"]["status"] == "skipped"


@pytest.mark.django_db(transaction=True)
def test_optimize_database__partial_failure_exits_1(monkeypatch):
    """One statement failing on the server while the others succeed: partial, exit 1."""
    original = database_maintenance.statistics_statements

    def with_a_missing_table(vendor, tables, **kwargs):
        missing = kwargs["quote_name"]("stocks_no_such_table")
        verb = "ANALYZE TABLE" if vendor == "mysql" else "ANALYZE"
        return [*original(vendor, tables, **kwargs), f"{verb} {missing}"]

    monkeypatch.setattr(database_maintenance, "statistics_statements", with_a_missing_table)
    result = run("optimize_database")
    assert result.code == 1
    assert "failed" in result.out
    assert "stocks_no_such_table" in result.out
    assert "Partial:" in result.out

    report, code = run_json("optimize_database")
    assert (report["status"], code) == ("partial", 1)
    statuses = [step["status"] for step in report["steps"]]
    assert statuses.count("failed") == 1
    assert "done" in statuses


def test_optimize_database__unreachable_database_exits_2(unreachable_database):
    """Nothing can be done without the database: the failure is reported and the exit code is 2."""
    result = run("optimize_database", "--database", unreachable_database)
    assert result.code == 2
    assert "failed   inspect indexes" in result.out
    assert "OperationalError" in result.out
    assert "Failed:" in result.out

    report, code = run_json("optimize_database", "--database", unreachable_database)
    assert (report["status"], code) == ("failed", 2)
    assert [step["status"] for step in report["steps"]] == ["failed"]


def test_optimize_database__builds_indexes_concurrently_on_postgresql(dropped_index):
    """On PostgreSQL the missing index is built CONCURRENTLY: writes go on meanwhile."""
    if connection.vendor != "postgresql":
        pytest.skip(f"backend mismatch: needs PostgreSQL, this run uses {connection.vendor}")
    with CaptureQueriesContext(connection) as queries:
        assert run("optimize_database").code == 0
    (create,) = [q["sql"] for q in queries if "CREATE INDEX" in q["sql"]]
    assert "CONCURRENTLY" in create
    assert index_present(DROPPED_INDEX)


def test_optimize_database__failed_concurrent_build_leaves_no_index(dropped_index, monkeypatch):
    """A concurrent build that fails part-way (leaving an index behind, INVALID in real life)
    drops it: the next run still sees the index missing and builds it."""
    if connection.vendor != "postgresql":
        pytest.skip(f"backend mismatch: needs PostgreSQL, this run uses {connection.vendor}")
    editor_class = type(connection.schema_editor())
    build = editor_class.add_index

    def build_then_fail(self, model, index, concurrently=False):
        build(self, model, index, concurrently=concurrently)
        raise DatabaseError("canceling statement due to lock timeout")

    monkeypatch.setattr(editor_class, "add_index", build_then_fail)
    report, code = run_json("optimize_database")
    assert code == 1
    assert "lock timeout" in report["steps"][1]["message"]
    assert not index_present(DROPPED_INDEX)

    monkeypatch.undo()
    assert run("optimize_database").code == 0
    assert index_present(DROPPED_INDEX)


@pytest.fixture
def dropped_foreign_key_index(transactional_db):
    """The index Django gave SearchTerm.stock (a field-level index, named by the database)."""
    if connection.vendor == "mysql":
        pytest.skip("backend mismatch: InnoDB keeps an index on every foreign key column itself")
    table = "stocks_searchterm"
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    (name,) = [
        n for n, info in constraints.items() if info["index"] and info["columns"] == ["stock_id"]
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    declared = next(d for d in declared_indexes() if d.table == table and d.on_field)
    if not index_present(declared.name):
        create_index(declared)


def test_optimize_database__recreates_a_dropped_foreign_key_index(dropped_foreign_key_index):
    """Indexes declared on fields (a foreign key's) count too: reported missing, then created."""
    report, code = run_json("optimize_database", "--dry-run")
    assert code == 0
    assert [(i["table"], i["columns"]) for i in report["missing_indexes"]] == [
        ("stocks_searchterm", ["stock_id"])
    ]
    report, code = run_json("optimize_database")
    assert (report["status"], code) == ("done", 0)
    assert all(present for _declared, present in index_status())


@pytest.mark.django_db(transaction=True)
def test_optimize_database__every_change_failing_exits_2(monkeypatch):
    """The inspection alone is not a partial success: when every change fails, exit 2."""

    def failing(statement, *, using):
        raise database_maintenance.StatementFailed("permission denied")

    monkeypatch.setattr(database_maintenance, "run_statement", failing)
    report, code = run_json("optimize_database")
    assert (report["status"], code) == ("failed", 2)
    assert report["steps"][0]["status"] == "done"


@pytest.mark.parametrize("name", ["optimize_database", "system_status"])
def test_operator_commands__unknown_database_alias_exits_2(name):
    """A bad --database is bad usage: exit 2 and, with --json, the failure document."""
    result = run(name, "--database", "nope")
    assert result.code == 2
    assert "Unknown database alias 'nope'" in result.error
    report, code = run_json(name, "--database", "nope")
    assert (report["status"], code) == ("failed", 2)


def test_operator_commands__unexpected_error_exits_2_with_json(monkeypatch, caplog):
    """A bug in a command is a failure (2) with the JSON document, and its traceback logged."""

    def broken(**options):
        raise RuntimeError("boom")

    monkeypatch.setattr(system_status_service, "system_status", broken)
    monkeypatch.setattr("stocks.management.commands.system_status.system_status", broken)
    report, code = run_json("system_status")
    assert (report, code) == (
        {"status": "failed", "error": "unexpected error: RuntimeError: boom"},
        2,
    )
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)


# ---------------------------------------------------------------------------------------
# system_health
# ---------------------------------------------------------------------------------------


def test_system_health__all_ok_prints_checks_by_category_exits_0(relaxed_thresholds, stock_factory):
    """Every check passes: each category and check is printed with status, timing and message."""
    stock_factory(quote_time=timezone.now())
    result = run("system_health")
    assert result.code == 0, result.out
    for check in CHECKS.values():
        assert f"\n{check.category}\n" in f"\n{result.out}"
        assert f"ok       {check.name}" in result.out
    assert f" ms  {connection.vendor} answered" in result.out
    assert result.out.strip().splitlines()[-1] == "Overall: ok"


def test_system_health__json_has_status_and_categories(relaxed_thresholds, stock_factory):
    """--json prints {"status", "categories"} like /health/detailed/."""
    stock_factory(quote_time=timezone.now())
    report, code = run_json("system_health")
    assert code == 0
    assert set(report) == {"status", "categories"}
    assert report["status"] == "ok"
    assert set(report["categories"]) == {check.category for check in CHECKS.values()}
    database = report["categories"]["database"][0]
    assert database["name"] == "database"
    assert database["status"] == "ok"
    assert {"message", "duration_ms", "details"} <= set(database)


def test_system_health__check_option_runs_a_subset_in_registry_order():
    """--check (repeatable) runs only the named checks, database first."""
    report, code = run_json("system_health", "--check", "cache", "--check", "database")
    assert code == 0
    assert list(report["categories"]) == ["database", "cache"]
    assert [c["name"] for results in report["categories"].values() for c in results] == [
        "database",
        "cache",
    ]


def test_system_health__unknown_check_exits_2():
    """An unknown --check name is refused with the list of known checks."""
    result = run("system_health", "--check", "nope")
    assert result.code == 2
    assert "nope" in result.error
    assert "database" in result.error


def test_system_health__cache_on_closed_port_is_degraded_exits_1(settings):
    """Redis unreachable (django-redis on a closed port): the cache check degrades, exit 1."""
    settings.CACHES = redis_cache_settings(CLOSED_PORT_REDIS_URL)
    result = run("system_health", "--check", "database", "--check", "cache")
    assert result.code == 1
    assert "degraded cache" in result.out
    assert "RedisCache failed" in result.out
    assert result.out.strip().splitlines()[-1] == "Overall: degraded"

    report, code = run_json("system_health", "--check", "cache")
    assert (report["status"], code) == ("degraded", 1)
    assert report["categories"]["cache"][0]["status"] == "degraded"


def test_system_health__unreachable_database_exits_2(database_down):
    """The database refusing connections is down: exit 2, the dependent checks skipped."""
    result = run("system_health", "--check", "database", "--check", "migrations")
    assert result.code == 2
    assert "down     database" in result.out
    assert "skipped: database down" in result.out
    report, code = run_json("system_health", "--check", "database")
    assert (report["status"], code) == ("down", 2)


def test_system_health__critical_disk_is_down_exits_2(settings):
    """A check that is down (disk below the critical free threshold) makes the exit code 2."""
    settings.HEALTH_DISK_CRITICAL_FREE_PERCENT = 101
    result = run("system_health", "--check", "database", "--check", "disk")
    assert result.code == 2
    assert "down     disk" in result.out
    assert result.out.strip().splitlines()[-1] == "Overall: down"

    report, code = run_json("system_health", "--check", "disk")
    assert (report["status"], code) == ("down", 2)


# ---------------------------------------------------------------------------------------
# clear_cache
# ---------------------------------------------------------------------------------------


def test_cache_namespaces__keys_are_built_and_classified_by_prefix():
    """cache_key builds a namespaced key; namespace_of finds it; unknown namespaces are refused."""
    assert cache_key("search", "v3", "berkshire") == "search:v3:berkshire"
    assert namespace_of(cache_key("market", "movers")) == "market"
    assert namespace_of(data_version.KEY) == "stocks"
    assert namespace_of("stray-key") is None
    with pytest.raises(UnknownNamespace):
        cache_key("nope", "x")


def cleared_exit_code() -> int:
    """A clear that worked: 0, or 1 on the local-memory cache (only this process's entries)."""
    return 1 if isinstance(caches["default"], LocMemCache) else 0


def test_clear_cache__local_memory_says_only_this_process_was_cleared():
    """The server's local-memory cache is out of a command's reach: exit 1, and say so."""
    cache.set_many({"search:v1:apple": 1, "market:sectors": 2})
    result = run("clear_cache", "--all")
    assert result.code == 1
    assert "Deleted 2 key(s)." in result.out
    assert "restart the server to clear its cache" in result.out
    report, code = run_json("clear_cache", "--all")
    assert (report["status"], code) == ("attention", 1)
    assert "inside each process" in report["warning"]


def test_clear_cache__namespaces_are_deleted_and_counted(seeded_cache, any_cache):
    """--namespace (repeatable) deletes those namespaces' keys only and counts them."""
    result = run("clear_cache", "--namespace", "search", "--namespace", "history")
    assert result.code == cleared_exit_code(), result.error
    assert "  search            1" in result.out
    assert "  history           1" in result.out
    assert "Deleted 2 key(s)." in result.out
    assert any_cache.get("search:v1:apple") is None
    assert any_cache.get("history:AAPL:1d:1y") is None
    assert any_cache.get("market:sectors") == 5
    assert any_cache.get("stocks:list:abc") == 1
    assert any_cache.get("stray-key") == 7


def test_clear_cache__stocks_namespace_keeps_the_data_version(seeded_cache, any_cache):
    """Clearing stocks deletes its entries but never the data version counter."""
    before = data_version.current()
    report, code = run_json("clear_cache", "--namespace", "stocks")
    assert code == cleared_exit_code()
    assert report["removed"] == {"stocks": 2}
    assert report["kept"] == [data_version.KEY]
    assert any_cache.get("stocks:detail:AAPL") is None
    assert before is not None
    assert data_version.current() == before


def test_clear_cache__dry_run_counts_without_deleting(seeded_cache, any_cache):
    """--dry-run reports what would go and leaves every key in place."""
    result = run("clear_cache", "--all", "--dry-run")
    assert result.code == cleared_exit_code()
    assert "Would delete 7 key(s)." in result.out
    report, _code = run_json("clear_cache", "--namespace", "throttle", "--dry-run")
    assert report["dry_run"] is True
    assert report["removed"] == {"throttle": 1}
    assert any_cache.get_many(list(seeded_cache)) == seeded_cache


def test_clear_cache__all_deletes_every_key_but_the_data_version(seeded_cache, any_cache):
    """--all deletes every namespace and the keys outside them; the counts say where they were."""
    before = data_version.current()
    report, code = run_json("clear_cache", "--all")
    assert code == cleared_exit_code()
    assert report["status"] == ("attention" if cleared_exit_code() else "done")
    assert report["removed"] == {
        "stocks": 2,
        "search": 1,
        "history": 1,
        "market": 1,
        "throttle": 1,
        "access": 0,
        "provider": 0,
        "tasks": 0,
        "metrics": 0,
        "alerts": 0,
        "other": 1,
    }
    assert report["total"] == 7
    assert any_cache.get_many(list(seeded_cache)) == {}
    assert before is not None
    assert data_version.current() == before
    assert "Deleted 0 key(s).\n" in run("clear_cache", "--all").out


def test_clear_cache__all_on_redis_leaves_other_keys_of_the_database(settings, redis_url):
    """--all removes this cache's keys only: other keys in the Redis database (a broker's) stay."""
    settings.CACHES = redis_cache_settings(redis_url)
    outsider = f"test-operator-outsider-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(redis_url)
    client.set(outsider, "queued task", ex=60)
    try:
        cache.set("market:sectors", 1)
        report, code = run_json("clear_cache", "--all")
        assert code == 0
        assert report["backend"] == "RedisCache"
        assert report["removed"]["market"] == 1
        assert client.get(outsider) == b"queued task"
    finally:
        client.delete(outsider)
        cache.delete_pattern("*")


def test_clear_cache__needs_all_or_a_namespace_exits_2():
    """Neither --all nor --namespace (or both) is refused with exit code 2."""
    for args in ((), ("--all", "--namespace", "stocks")):
        result = run("clear_cache", *args)
        assert result.code == 2
        assert "--all or at least one --namespace" in result.error


def test_clear_cache__unknown_namespace_exits_2(any_cache):
    """An unknown namespace is refused, naming the known ones, and nothing is deleted."""
    any_cache.set("search:x", 1)
    result = run("clear_cache", "--namespace", "search", "--namespace", "quotes")
    assert result.code == 2
    assert "'quotes'" in result.error
    assert ", ".join(NAMESPACES) in result.error
    assert any_cache.get("search:x") == 1

    report, code = run_json("clear_cache", "--namespace", "quotes")
    assert (report["status"], code) == ("failed", 2)


def test_clear_cache__unreachable_redis_exits_2(settings):
    """Redis on a closed port is an error (even with IGNORE_EXCEPTIONS), not "0 keys removed"."""
    settings.CACHES = redis_cache_settings(CLOSED_PORT_REDIS_URL, IGNORE_EXCEPTIONS=True)
    result = run("clear_cache", "--namespace", "search")
    assert result.code == 2
    assert "Redis unreachable" in result.error


def test_clear_cache__backend_without_key_listing_exits_2(settings):
    """A backend that cannot list its keys (here the dummy cache) is refused with exit code 2."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    result = run("clear_cache", "--all")
    assert result.code == 2
    assert "DummyCache cannot list its keys" in result.error


# ---------------------------------------------------------------------------------------
# system_status
# ---------------------------------------------------------------------------------------


def test_system_status__everything_as_expected_exits_0(stock_factory):
    """Fresh data, migrations applied, eager Celery: every section printed, exit 0."""
    stock_factory.create_batch(2, quote_time=timezone.now())
    result = run("system_status")
    assert result.code == 0, result.out
    for heading in ("Versions", "Configuration", "Database", "Data", "Migrations"):
        assert f"\n{heading}\n" in f"\n{result.out}"
    assert "python 3." in result.out
    assert "django 5.2" in result.out
    assert f"database     {connection.vendor} " in result.out
    assert "eager (tasks run inline)" in result.out
    assert "stocks_stock" in result.out
    assert "0 of 2 active stock(s) stale" in result.out
    assert "0 pending" in result.out
    assert result.out.strip().splitlines()[-1] == "Status: ok"


def test_system_status__json_document(stock_factory):
    """--json: status, versions, configuration, row counts, freshness, migrations, workers."""
    stock_factory.create_batch(2, quote_time=timezone.now())
    report, code = run_json("system_status")
    assert code == 0
    assert report["status"] == "ok"
    assert report["attention"] == []
    assert {"python", "django", "djangorestframework", "celery", "app"} <= set(report["versions"])
    configuration = report["configuration"]
    assert configuration["database"]["vendor"] == connection.vendor
    assert configuration["celery"]["eager"] is True
    assert configuration["django_env"] == "development"
    rows = {table["table"]: table["rows"] for table in report["database"]["tables"]}
    assert rows["stocks_stock"] == 2
    assert rows["stocks_pricebar"] == 0
    assert report["freshness"]["stale_stocks"] == 0
    assert report["freshness"]["active_stocks"] == 2
    assert report["freshness"]["newest_quote"]
    assert report["migrations"] == {"pending": []}
    assert report["workers"]["eager"] is True


def test_system_status__passwords_are_masked(settings, stock_factory):
    """Broker and cache URLs are shown with their passwords masked."""
    stock_factory(quote_time=timezone.now())
    settings.CELERY_BROKER_URL = "redis://:s3cret@broker.internal:6379/0"
    settings.CACHES = redis_cache_settings("redis://user:s3cret@cache.internal:6379/1")
    for output in (run("system_status").out, run("system_status", "--json").out):
        assert "s3cret" not in output
        assert "redis://:****@broker.internal:6379/0" in output
        assert "redis://user:****@cache.internal:6379/1" in output
    assert mask_url("memory://") == "memory://"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "redis://:a@h1:6379/0,redis://:pw2@h2:6379/0",
            "redis://:****@h1:6379/0,redis://:****@h2:6379/0",
        ),
        ("amqp://u:p1@h1//;amqp://u:pw2@h2//", "amqp://u:****@h1//;amqp://u:****@h2//"),
        ("redis://h:6379/0?password=pw3&db=1", "redis://h:6379/0?password=****&db=1"),
        ("sentinel://h:26379;sentinel://h2:26379", "sentinel://h:26379;sentinel://h2:26379"),
        ("redis://user@h:6379/0", "redis://user@h:6379/0"),
        ("redis://:p@[::1:bad/0", "****"),
        ("redis://:p,w@host:6379/0", "redis://:****@host:6379/0"),
        (
            "redis://user:se,cret@h:1/0;redis://:x;y@h2/0",
            "redis://user:****@h:1/0;redis://:****@h2/0",
        ),
        ("redis://h/0?password=a,b", "redis://h/0?password=****"),
    ],
)
def test_mask_url__every_password_of_a_list_and_of_the_query(url, shown):
    """Lists of URLs (django-redis, Celery failover) and password parameters are masked too."""
    assert mask_url(url) == shown


def test_system_status__stale_data_needs_attention_exits_1(stock_factory):
    """A stock whose quote is a month old is stale: exit 1 with the reason."""
    stock_factory(quote_time=timezone.now())
    stock_factory(quote_time=timezone.now() - timedelta(days=30))
    result = run("system_status")
    assert result.code == 1
    assert "Attention: 1 of 2 active stock(s) have stale quotes" in result.out
    assert result.out.strip().splitlines()[-1] == "Status: attention"

    report, code = run_json("system_status")
    assert (report["status"], code) == ("attention", 1)
    assert report["freshness"]["stale_stocks"] == 1


def test_system_status__no_quotes_needs_attention_exits_1():
    """An empty database has no quotes to serve: exit 1."""
    report, code = run_json("system_status")
    assert (report["status"], code) == ("attention", 1)
    assert report["attention"] == ["no quotes stored"]


def test_system_status__pending_migrations_need_attention_exits_1(monkeypatch, stock_factory):
    """Migrations not applied are listed and make the exit code 1."""
    stock_factory(quote_time=timezone.now())
    monkeypatch.setattr(
        system_status_service,
        "pending_migrations",
        lambda using: ["stocks.0002_future_change"],
    )
    result = run("system_status")
    assert result.code == 1
    assert "1 pending: stocks.0002_future_change" in result.out
    assert "Attention: 1 migration(s) not applied" in result.out

    report, code = run_json("system_status")
    assert (report["migrations"], code) == ({"pending": ["stocks.0002_future_change"]}, 1)


def test_system_status__no_workers_while_not_eager_exits_1(settings, stock_factory):
    """With tasks not run inline, no Celery worker answering the ping needs attention."""
    stock_factory(quote_time=timezone.now())
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 1.0  # the ping waits half a second (memory broker)
    result = run("system_status")
    assert result.code == 1
    assert "celery       workers, broker" in result.out
    assert "Attention: Celery workers: no Celery worker answered" in result.out

    report, code = run_json("system_status")
    assert code == 1
    assert report["workers"] == {
        "eager": False,
        "status": "degraded",
        "message": "no Celery worker answered",
        "seen": [],
    }


def test_system_status__unreachable_database_exits_2(unreachable_database):
    """The database unreachable: reported down, exit 2, the rest of the status still shown."""
    result = run("system_status", "--database", unreachable_database)
    assert result.code == 2
    assert "unreachable: OperationalError" in result.out
    assert "Versions" in result.out
    assert result.out.strip().splitlines()[-1] == "Status: down"

    report, code = run_json("system_status", "--database", unreachable_database)
    assert (report["status"], code) == ("down", 2)
    assert report["database"]["reachable"] is False
    assert report["versions"]["django"].startswith("5.2")


@pytest.mark.django_db
def test_refresh_statistics__never_inside_a_transaction(monkeypatch):
    """Inside a caller's transaction nothing runs (MySQL's ANALYZE TABLE would commit it)."""
    from stocks.services import database_maintenance

    ran = []
    monkeypatch.setattr(database_maintenance, "run_statement", lambda s, using: ran.append(s))

    database_maintenance.refresh_statistics()  # the test's own transaction is open

    assert ran == []


@pytest.mark.django_db(transaction=True)
def test_refresh_statistics__runs_the_backend_statements(monkeypatch):
    """Outside a transaction it runs the current backend's statements, and they succeed."""
    from stocks.services import database_maintenance

    ran = []
    real = database_maintenance.run_statement

    def spy(statement, *, using):
        ran.append(statement)
        return real(statement, using=using)

    monkeypatch.setattr(database_maintenance, "run_statement", spy)
    database_maintenance.refresh_statistics()

    assert ran and all("ANALYZE" in statement or "PRAGMA" in statement for statement in ran)


def test_clear_cache__keeps_when_each_version_ended(seeded_cache, any_cache):
    """The cursors' clock stays with the version: clearing does not expire cursors."""
    from stocks import data_version

    replaced = data_version.current()
    data_version.bump()
    assert data_version.ended_recently(replaced)
    run_json("clear_cache", "--all")
    assert data_version.ended_recently(replaced)
