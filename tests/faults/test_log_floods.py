"""
Log floods (findings: a traceback per bad-Host request; about 1,000 django_redis tracebacks
in 10 s with Redis down; three warnings per request in a database outage, which this test
measured as 111 lines for 37 requests before the fix). gunicorn as
shipped, its log read after each flood: one line per event, never a traceback for a
client's mistake, dependency outages once per interval.
"""

from __future__ import annotations

import http.client
import time

from ..support.live import Instance, app_env, free_port, prepare
from ..support.load import Load, figures
from ..support.servers import scratch_database
from ..support.tcp_proxy import TcpProxy

WORKERS = 5


def _start(tmp_path, **env_vars) -> Instance:
    port = free_port()
    env = app_env(tmp_path, port, workers=WORKERS, GUNICORN_THREADS="1", **env_vars)
    prepare(env, "from tests.factories import StockFactory; StockFactory(ticker='LF')")
    return Instance(env, port, tmp_path / "gunicorn.log").start()


def _log_lines(instance: Instance) -> list[str]:
    return [
        line
        for line in instance.log_path.read_text(errors="replace").splitlines()
        if not line.startswith("127.0.0.1 - ")
    ]  # fmt: skip  (not the access log)


def test_bad_host__one_line_each_no_traceback(tmp_path):
    instance = _start(tmp_path, DJANGO_ALLOWED_HOSTS="api.example.com")
    try:
        for _ in range(50):
            connection = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=10)
            connection.request("GET", "/api/stocks/", headers={"Host": "evil.example.net"})
            assert connection.getresponse().status == 400
            connection.close()
        lines = [line for line in _log_lines(instance) if "DisallowedHost" in line]
        log = instance.log_path.read_text(errors="replace")
    finally:
        instance.kill()
    print(f"50 bad-Host requests: {len(lines)} log lines, {log.count('Traceback')} tracebacks")
    assert len(lines) == 50
    assert "Traceback" not in log


def test_redis_down__a_few_lines_per_process_not_one_per_call(tmp_path):
    instance = _start(tmp_path, REDIS_URL="redis://127.0.0.1:1/0", RATE_LIMITS_ENABLED="true")
    try:
        with Load(instance.port, ["/api/stocks/", "/api/stocks/LF/", "/health/ready/"], 8) as load:
            time.sleep(10)
        lines = [line for line in _log_lines(instance) if any(
            f" {logger} [" in line for logger in ("stocks.cache", "stocks.cache_errors",
                                                  "stocks.access", "django_redis"))]  # fmt: skip
        log = instance.log_path.read_text(errors="replace")
    finally:
        instance.kill()
    figures("10 s of load with Redis refusing connections", load.samples)
    print(f"{len(lines)} lines about Redis, {log.count('Traceback')} tracebacks")
    assert {s.status for s in load.samples} == {200}
    assert "Traceback" not in log
    # Per process at most: the breaker's warning, the counters' warning and the cache's
    # ignored-error line (each at most once a minute).
    assert len(lines) <= 3 * WORKERS, "\n".join(lines)


def test_database_outage__one_line_a_minute_per_process(tmp_path):
    with scratch_database() as database:
        proxy = TcpProxy((database.host, database.port)).start()
        instance = _start(
            tmp_path, DATABASE_URL=database.url(*proxy.address), RESPONSE_CACHE_ENABLED="false",
            SCREEN_ENGINE="sql",
        )  # fmt: skip
        try:
            proxy.cut()
            with Load(instance.port, ["/api/stocks/LF/"], 4) as load:
                time.sleep(3)
            warnings = [line for line in _log_lines(instance) if "database unavailable" in line]
            log = instance.log_path.read_text(errors="replace")
        finally:
            instance.kill()
            proxy.cut()
    figures("3 s of requests while the database is gone", load.samples)
    print(f"{len(warnings)} 'database unavailable' lines for {len(load.samples)} requests")
    assert {(s.status, s.code) for s in load.samples} == {(503, "database_unavailable")}
    assert len(load.samples) > 2 * WORKERS
    assert 1 <= len(warnings) <= WORKERS  # the first of each process's minute
    assert "Traceback" not in log
