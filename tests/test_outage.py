"""
The database goes away and comes back: 503 + Retry-After (never a 500, never a mail),
/health/ fails fast, safe requests are retried, and the next request after the database
returns succeeds with nothing restarted.

The server tests never touch the shared server: Django talks to it through a TCP proxy
(tests/support/tcp_proxy.py) that the test cuts, freezes and restores. They need MySQL/
MariaDB or PostgreSQL; on SQLite (a file, no network) they are skipped as a backend
mismatch. The last tests make the database unusable another way and run on every backend.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connection, connections
from django.http import HttpResponse
from django.test import RequestFactory

from .factories import StockFactory
from .support.tcp_proxy import TcpProxy

# Connections are closed and reopened mid-test, which a test wrapped in a transaction
# cannot survive.
pytestmark = pytest.mark.django_db(transaction=True)

API_PATHS = (
    "/api/stocks/",
    "/api/stocks/AAPL/",
    "/api/stocks/AAPL/history/",
    "/api/stocks/search/?q=apple",
    "/api/market/sectors/",
    "/api/market/movers/",
)
ADMINS = [("Ops", "ops@example.com")]
DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}
# A POST that reaches the database (the API itself is read-only).
SIGN_IN = {"username": "ops", "password": "secret"}


@pytest.fixture(autouse=True)
def _outage_settings(settings):
    settings.ADMINS = ADMINS
    settings.DATABASE_READ_RETRIES = 2
    settings.DATABASE_RETRY_BACKOFF_SECONDS = 0
    settings.DATABASE_RETRY_AFTER_SECONDS = 7
    # These tests are about the database path: a cached answer or a screen snapshot would
    # answer a repeated request without it (tested below, in the cache and engine tests).
    settings.RESPONSE_CACHE_ENABLED = False
    settings.SCREEN_ENGINE = "sql"


@pytest.fixture
def db_proxy(transactional_db) -> Iterator[TcpProxy]:
    """The default connection goes through a proxy the test can cut (MySQL, PostgreSQL)."""
    if connection.vendor not in DEFAULT_PORTS:
        pytest.skip(
            f"backend mismatch: needs MySQL/MariaDB or PostgreSQL, this run uses "
            f"{connection.vendor}"
        )
    db = connection.settings_dict
    saved = {key: db[key] for key in ("HOST", "PORT", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    # "localhost" (or no host) would make the driver use the Unix socket.
    upstream_host = db["HOST"] if db["HOST"] not in ("", "localhost") else "127.0.0.1"
    upstream_port = int(db["PORT"] or DEFAULT_PORTS[connection.vendor])
    proxy = TcpProxy((upstream_host, upstream_port)).start()
    connection.close()
    db.update(HOST=proxy.address[0], PORT=str(proxy.port))
    try:
        yield proxy
    finally:
        connection.close()
        db.update(saved)
        proxy.cut()


@pytest.fixture
def persistent_connection(db_proxy) -> TcpProxy:
    """
    As in production, the connection outlives a request (the test settings set
    CONN_MAX_AGE=0); CONN_HEALTH_CHECKS is the project's own setting.
    """
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 60
    return db_proxy


@pytest.fixture
def connect_attempts(monkeypatch) -> list[int]:
    """The port of each attempt to open a database connection, successful or not."""
    attempts: list[int] = []
    wrapper_class = type(connections[DEFAULT_DB_ALIAS])
    open_connection = wrapper_class.get_new_connection

    def counting(self, conn_params):
        attempts.append(int(conn_params["port"]))
        return open_connection(self, conn_params)

    monkeypatch.setattr(wrapper_class, "get_new_connection", counting)
    return attempts


@pytest.fixture
def server() -> Callable[[str], HttpResponse]:
    """
    GET through Django's WSGI handler the way gunicorn calls it. Unlike the test client
    this sends request_started/request_finished, whose close_old_connections is what
    checks, reuses or drops a persistent connection between requests.
    """
    handler, factory = WSGIHandler(), RequestFactory()

    def get(path: str) -> HttpResponse:
        response = handler(factory.get(path).environ, lambda status, headers, exc_info=None: None)
        response.close()  # what the WSGI server does once the body is sent
        return response

    return get


@pytest.fixture
def failed_queries() -> Iterator[list[DatabaseError]]:
    """The database errors raised by queries while the test runs."""
    failures: list[DatabaseError] = []

    def record(execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        except DatabaseError as exc:
            failures.append(exc)
            raise

    with connection.execute_wrapper(record):
        yield failures


def assert_database_unavailable(response, settings) -> None:
    """The 503 JSON error body with Retry-After, not a 500 and not HTML."""
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(settings.DATABASE_RETRY_AFTER_SECONDS)
    error = json.loads(response.content)["error"]
    assert error["status"] == 503
    assert error["code"] == "database_unavailable"
    assert error["details"] == {"retry_after": settings.DATABASE_RETRY_AFTER_SECONDS}
    assert error["request_id"] == response["X-Request-ID"]
    assert "ETag" not in response  # README: ETags on successful GETs only


# --- the database is gone ------------------------------------------------------------------


@pytest.mark.parametrize("path", API_PATHS)
def test_api_during_outage__503_json_with_retry_after(api, db_proxy, settings, path):
    """Every API endpoint answers the JSON 503 with Retry-After while the database is gone."""
    StockFactory(ticker="AAPL", name="Apple Inc")
    db_proxy.cut()
    assert_database_unavailable(api.get(path), settings)


def test_signed_in_request_during_outage__503(api, db_proxy, settings, django_user_model):
    """A request with a session cookie (whose lookup fails first) gets the same 503."""
    api.force_login(django_user_model.objects.create_user("ops", password="secret"))
    db_proxy.cut()
    assert_database_unavailable(api.get("/api/stocks/"), settings)


def test_outage__mails_nobody(api, client, db_proxy, settings, mailoutbox, caplog):
    """However many requests fail, ADMINS get no mail and nothing is logged as an error."""
    db_proxy.cut()
    for _ in range(5):
        for path in API_PATHS:
            assert_database_unavailable(api.get(path), settings)
        assert client.get("/health/").status_code == 503
    assert_database_unavailable(client.post("/admin/login/", SIGN_IN), settings)
    assert mailoutbox == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_health_during_outage__503_within_a_second(client, db_proxy):
    """/health/ reports the database down with a 503, fast (a refused connect fails at once)."""
    db_proxy.cut()
    started = time.perf_counter()
    response = client.get("/health/")
    elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["database"]["status"] == "down"
    assert elapsed < 1.0, f"/health/ took {elapsed:.2f}s"


@pytest.mark.parametrize("method", ["get", "head"])
def test_safe_request_during_outage__retried(api, db_proxy, settings, connect_attempts, method):
    """GET and HEAD try the database 1 + DATABASE_READ_RETRIES times before the 503."""
    settings.DATABASE_READ_RETRIES = 3
    db_proxy.cut()
    response = getattr(api, method)("/api/stocks/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.DATABASE_RETRY_AFTER_SECONDS)
    assert connect_attempts == [db_proxy.port] * 4


def test_unsafe_request_during_outage__not_retried(client, db_proxy, settings, connect_attempts):
    """A POST (the admin login: the API is read-only) tries the database once: 503, no retry."""
    settings.DATABASE_READ_RETRIES = 3
    db_proxy.cut()
    response = client.post("/admin/login/", SIGN_IN)
    assert_database_unavailable(response, settings)
    assert connect_attempts == [db_proxy.port]


def test_health_with_a_frozen_database__503_within_the_time_limit(
    server, persistent_connection, settings
):
    """A server that stops answering (sockets open, nothing refused): /health/ still says 503
    within HEALTH_CHECK_TIMEOUT_SECONDS, and 200 again once the server answers."""
    proxy = persistent_connection
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 1.0
    assert server("/api/stocks/").status_code == 200  # the persistent connection is open
    assert server("/health/").status_code == 200

    proxy.freeze()
    try:
        for _ in range(3):  # polls while the first run is still hung answer as fast
            started = time.perf_counter()
            response = server("/health/")
            elapsed = time.perf_counter() - started
            assert response.status_code == 503
            assert elapsed < 2.0, f"/health/ took {elapsed:.2f}s"
    finally:
        proxy.thaw()
    deadline = time.monotonic() + 15
    while server("/health/").status_code != 200:
        assert time.monotonic() < deadline, "/health/ did not recover after the thaw"


# --- the database comes back ----------------------------------------------------------------


def test_database_back__next_request_succeeds(server, persistent_connection, settings):
    """After the outage the next request reconnects by itself: nothing is restarted."""
    proxy = persistent_connection
    StockFactory(ticker="AAPL", name="Apple Inc")
    assert server("/api/stocks/AAPL/").status_code == 200

    proxy.cut()
    assert_database_unavailable(server("/api/stocks/AAPL/"), settings)
    assert server("/health/").status_code == 503

    proxy.restore()
    assert server("/health/").status_code == 200
    response = server("/api/stocks/AAPL/")
    assert response.status_code == 200, response.content
    assert json.loads(response.content)["ticker"] == "AAPL"


def test_connection_dropped_between_requests__health_check_reconnects(
    server, persistent_connection, failed_queries
):
    """A persistent connection that died while idle is replaced before the first query."""
    proxy = persistent_connection
    StockFactory(ticker="AAPL", name="Apple Inc")
    assert server("/api/stocks/AAPL/").status_code == 200
    opened = proxy.accepted

    proxy.drop_connections()
    response = server("/api/stocks/AAPL/")

    assert response.status_code == 200, response.content
    assert failed_queries == []  # CONN_HEALTH_CHECKS caught it, no retry was needed
    assert proxy.accepted == opened + 1


def test_connection_dropped_mid_request__recovers_on_retry(
    server, persistent_connection, failed_queries
):
    """A connection that dies after the request started using it is reopened by the retry."""
    proxy = persistent_connection
    StockFactory(ticker="AAPL", name="Apple Inc")
    assert server("/api/stocks/AAPL/").status_code == 200
    opened = proxy.accepted
    dropped = []

    def die_before_first_query(execute, sql, params, many, context):
        if not dropped:  # after the health check passed, before the first query
            dropped.append(sql)
            proxy.drop_connections()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(die_before_first_query):
        response = server("/api/stocks/AAPL/")

    assert response.status_code == 200, response.content
    assert json.loads(response.content)["ticker"] == "AAPL"
    assert len(failed_queries) == 1  # the first attempt failed...
    assert proxy.accepted == opened + 1  # ...and the retry reconnected once


# --- every backend ---------------------------------------------------------------------------


@pytest.fixture
def unusable_database(monkeypatch) -> list[str]:
    """Every connect fails as if the server were gone (any backend); lists the attempts."""
    attempts: list[str] = []

    def refuse(self):
        attempts.append(self.alias)
        raise OperationalError("simulated outage: the database is unreachable")

    def refuse_to_connect(self, conn_params):
        raise OperationalError("simulated outage: the database is unreachable")

    wrapper = type(connections[DEFAULT_DB_ALIAS])
    monkeypatch.setattr(wrapper, "ensure_connection", refuse)
    # The health check opens connections of its own, past ensure_connection.
    monkeypatch.setattr(wrapper, "get_new_connection", refuse_to_connect)
    # A gone server also fails the ping on a connection opened before it went away.
    monkeypatch.setattr(wrapper, "is_usable", lambda self: False)
    return attempts


@pytest.mark.parametrize("path", API_PATHS)
def test_database_unusable__503_on_every_backend(
    api, client, unusable_database, settings, mailoutbox, path
):
    """With no usable database, on any backend: the JSON 503, Retry-After, /health/ 503."""
    assert_database_unavailable(api.get(path), settings)
    assert unusable_database == [DEFAULT_DB_ALIAS] * (1 + settings.DATABASE_READ_RETRIES)
    assert client.get("/health/").status_code == 503
    assert mailoutbox == []


def test_retry_backoff__doubles_each_time(api, unusable_database, settings, monkeypatch):
    """The waits between retries start at DATABASE_RETRY_BACKOFF_SECONDS and double."""
    settings.DATABASE_READ_RETRIES = 3
    settings.DATABASE_RETRY_BACKOFF_SECONDS = 0.25
    waits: list[float] = []
    monkeypatch.setattr("stocks.middleware.time.sleep", waits.append)
    assert api.get("/api/stocks/").status_code == 503
    assert waits == [0.25, 0.5, 1.0]


def test_query_error__on_live_database_is_a_500_not_an_outage(settings, mailoutbox, monkeypatch):
    """A failing query against a database that answers (a bug) is a 500 and is mailed."""
    from rest_framework.test import APIClient

    from stocks.querysets import StockQuerySet

    def broken(self):
        self.count()  # the connection is open and answering, as in any real query error
        raise OperationalError("no such column: stocks_stock.nonexistent")

    monkeypatch.setattr(StockQuerySet, "sector_summary", broken)
    settings.ADMINS = [("Ops", "ops@example.com")]
    response = APIClient(raise_request_exception=False).get("/api/market/sectors/")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert len(mailoutbox) == 1


def test_database_unusable__screens_answer_from_the_snapshot(api, settings, request):
    """With the snapshot of the current data version in memory, a screen needs no database."""
    settings.SCREEN_ENGINE = "numpy"
    StockFactory(ticker="AAPL")
    assert api.get("/api/stocks/")["X-Screen-Engine"] == "numpy"  # built while it was up

    request.getfixturevalue("unusable_database")
    response = api.get("/api/stocks/", {"ordering": "-price"})

    assert response.status_code == 200, response.content
    assert [row["ticker"] for row in response.json()["results"]] == ["AAPL"]
    assert api.get("/api/stocks/AAPL/").status_code == 503  # the detail reads the database


# --- the database freezes (stocks/database_guard.py) ----------------------------------------


@pytest.fixture
def frozen_guard(settings) -> Iterator[None]:
    from stocks import database_guard

    settings.DATABASE_QUERY_TIMEOUT_SECONDS = 0.5
    database_guard.reset()
    yield
    database_guard.reset()


def _timed(server, path: str) -> tuple[HttpResponse, float]:
    started = time.perf_counter()
    response = server(path)
    return response, time.perf_counter() - started


def test_frozen_database__request_cut_at_the_timeout_not_retried(
    server, persistent_connection, settings, frozen_guard, monkeypatch, caplog
):
    """A query on a server that stops answering is cut at DATABASE_QUERY_TIMEOUT_SECONDS:
    503 at once, no retry (it would only wait again), one warning; the requests after it
    answer 503 without waiting or connecting, /health/ too; after the thaw all is served."""
    proxy = persistent_connection
    StockFactory(ticker="AAPL", name="Apple Inc")
    assert server("/api/stocks/AAPL/").status_code == 200
    # Connections really opened (past the guard), by thread: the probe's are its own.
    django_backend = type(connections[DEFAULT_DB_ALIAS]).__mro__[2]
    assert django_backend.__module__.startswith("django.db.backends.")
    opened_by: list[str] = []
    open_connection = django_backend.get_new_connection

    def counting(self, conn_params):
        opened_by.append(threading.current_thread().name)
        return open_connection(self, conn_params)

    monkeypatch.setattr(django_backend, "get_new_connection", counting)

    proxy.freeze()
    try:
        with caplog.at_level(logging.WARNING, logger="stocks.database"):
            response, first = _timed(server, "/api/stocks/AAPL/")
        assert_database_unavailable(response, settings)
        assert 0.5 <= first < 1.5, f"cut after {first:.2f}s"
        (warning,) = [r.getMessage() for r in caplog.records if r.name == "stocks.database"]
        # (the connection check before the first query is the first round trip)
        assert warning == (
            "database did not answer a connection check within 0.5s: requests answer 503 "
            "without asking it until it answers a probe"
        )
        for path in ("/api/stocks/AAPL/", "/api/stocks/", "/health/", "/health/ready/"):
            response, elapsed = _timed(server, path)
            assert response.status_code == 503, (path, response.content)
            assert elapsed < 0.2, f"{path} took {elapsed:.2f}s"
        assert "MainThread" not in opened_by  # no request asked the frozen server
    finally:
        proxy.thaw()
    deadline = time.monotonic() + 10
    while (response := server("/api/stocks/AAPL/")).status_code != 200:
        assert time.monotonic() < deadline, "not served again after the thaw"
        time.sleep(0.05)
    assert json.loads(response.content)["ticker"] == "AAPL"
    assert server("/health/").status_code == 200


def test_frozen_database__fresh_connection_cut_too(server, db_proxy, settings, frozen_guard):
    """With no persistent connection (CONN_MAX_AGE=0) the connect and the query are bounded
    as well: the connect by DATABASE_CONNECT_TIMEOUT, each round trip after it by the limit."""
    StockFactory(ticker="AAPL", name="Apple Inc")
    db_proxy.freeze()
    try:
        response, elapsed = _timed(server, "/api/stocks/AAPL/")
        assert_database_unavailable(response, settings)
        assert elapsed < settings.DATABASE_CONNECT_TIMEOUT + 1
    finally:
        db_proxy.thaw()


def test_frozen_database__work_outside_requests_is_not_bounded(
    persistent_connection, settings, frozen_guard
):
    """Commands and Celery tasks set no limit: a query longer than a request's limit (here,
    one held by a 1 s freeze) completes."""
    from stocks.models import Stock

    proxy = persistent_connection
    StockFactory(ticker="AAPL", name="Apple Inc")
    assert Stock.objects.count() == 1  # the connection is open
    proxy.freeze()
    threading.Timer(1.0, proxy.thaw).start()
    started = time.perf_counter()
    assert Stock.objects.count() == 1
    assert time.perf_counter() - started >= 0.9


def test_frozen_database__cached_answers_still_served(
    server, persistent_connection, settings, frozen_guard
):
    """While the breaker is open, what the response cache holds is served (no database),
    limits included: the plan this process last read stands while it cannot read again."""
    proxy = persistent_connection
    settings.RESPONSE_CACHE_ENABLED = True
    settings.RATE_LIMITS_ENABLED = True
    settings.API_KEY_CACHE_SECONDS = 0  # every request would read the anonymous plan again
    StockFactory(ticker="AAPL", name="Apple Inc")
    warm = server("/api/stocks/AAPL/")
    assert warm.status_code == 200
    proxy.freeze()
    try:
        assert server("/api/stocks/?ordering=ticker").status_code == 503  # trips the breaker
        response, elapsed = _timed(server, "/api/stocks/AAPL/")
        assert response.status_code == 200, response.content
        assert response.content == warm.content
        assert elapsed < 0.2
    finally:
        proxy.thaw()


def test_frozen_database__a_commit_is_bounded_too(persistent_connection, frozen_guard):
    """Not only queries: the COMMIT at the end of an atomic block is a round trip too."""
    from django.db import transaction

    from stocks import database_guard
    from stocks.models import Stock

    proxy = persistent_connection
    stock = StockFactory(ticker="AAPL", name="Apple Inc")
    started = time.perf_counter()
    with (
        pytest.raises(database_guard.DatabaseTimeout),
        database_guard.limit(0.5),
        transaction.atomic(),
    ):
        Stock.objects.filter(pk=stock.pk).update(name="Apple")
        proxy.freeze()
    elapsed = time.perf_counter() - started
    proxy.thaw()
    connection.close()
    assert elapsed < 1.5


def test_a_cut_query_is_cancelled_on_the_server(settings, frozen_guard):
    """A query cut for waiting too long (here on a row lock) does not run on behind the
    client's back: the server is told to stop it, so a write answered 503 never commits."""
    from stocks import database_guard
    from stocks.models import Stock

    if connection.vendor not in DEFAULT_PORTS:
        pytest.skip(f"backend mismatch: needs a database server, this run uses {connection.vendor}")
    stock = StockFactory(ticker="AAPL", name="Apple Inc")
    wrapper = connections[DEFAULT_DB_ALIAS]
    holder = wrapper.get_new_connection(wrapper.get_connection_params())
    try:
        holder.cursor().execute("SELECT id FROM stocks_stock WHERE id = %s FOR UPDATE", [stock.pk])
        with pytest.raises(database_guard.DatabaseTimeout), database_guard.limit(0.5):
            Stock.objects.filter(pk=stock.pk).update(name="Written after a 503")
        time.sleep(1.0)  # the cancel runs in the background
    finally:
        holder.rollback()  # the lock is released: an uncancelled UPDATE would now commit
        holder.close()
    connection.close()
    database_guard.reset()
    time.sleep(0.3)
    assert Stock.objects.get(pk=stock.pk).name == "Apple Inc"


def test_frozen_database__a_snapshot_build_finds_it_as_fast(
    server, persistent_connection, settings, frozen_guard
):
    """The screen engine's build may read longer than a query may, but its connection is
    checked at the request's own bound first: a frozen server is found as quickly."""
    settings.SCREEN_ENGINE = "numpy"
    proxy = persistent_connection
    StockFactory(ticker="AAPL", name="Apple Inc")
    assert server("/api/stocks/AAPL/").status_code == 200  # the connection is open
    from stocks import data_version

    data_version.bump()  # no snapshot of this version yet: the next screen builds one
    proxy.freeze()
    try:
        response, elapsed = _timed(server, "/api/stocks/?ordering=-market_cap")
    finally:
        proxy.thaw()
    assert_database_unavailable(response, settings)
    assert elapsed < 1.5
