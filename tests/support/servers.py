"""
Servers a live test starts and owns: a scratch database on the run's MySQL/PostgreSQL server
(never the shared test database), and a Redis of its own (to stop and freeze at will).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import environ
import pytest

from .live import free_port

_DRIVERS = {"mysql": "mysql", "mysql2": "mysql", "postgres": "postgresql",
            "postgresql": "postgresql", "pgsql": "postgresql"}  # fmt: skip
DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}


def _require(what: str, reason: str) -> None:
    if os.environ.get("STOCKSCANNER_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required in CI: {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class ServerDatabase:
    vendor: str  # "mysql" or "postgresql"
    host: str
    port: int
    user: str
    password: str
    name: str

    def url(self, host: str | None = None, port: int | None = None) -> str:
        scheme = "mysql" if self.vendor == "mysql" else "postgres"
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"{scheme}://{auth}@{host or self.host}:{port or self.port}/{self.name}"


def server_vendor() -> str | None:
    """The server of this test run (DATABASE_URL), or None on SQLite."""
    scheme = os.environ.get("DATABASE_URL", "").split("://", 1)[0]
    return _DRIVERS.get(scheme)


@contextmanager
def scratch_database() -> Iterator[ServerDatabase]:
    """
    A new, empty database on the server this run uses, dropped afterwards. On SQLite runs
    the test is skipped as a backend mismatch (the other backends' runs cover it).
    """
    vendor = server_vendor()
    if vendor is None:
        pytest.skip("backend mismatch: needs a MySQL/MariaDB or PostgreSQL run")
    config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    host = config.get("HOST") or "127.0.0.1"
    host = "127.0.0.1" if host == "localhost" else host  # TCP, not the Unix socket
    database = ServerDatabase(
        vendor, host, int(config.get("PORT") or DEFAULT_PORTS[vendor]),
        config.get("USER") or "", config.get("PASSWORD") or "",
        f"faults_{uuid.uuid4().hex[:12]}",
    )  # fmt: skip
    _admin(database, f"CREATE DATABASE {database.name}")
    try:
        yield database
    finally:
        _admin(database, f"DROP DATABASE IF EXISTS {database.name}")


def _admin(database: ServerDatabase, statement: str) -> None:
    if database.vendor == "mysql":
        import MySQLdb

        connection = MySQLdb.connect(
            host=database.host, port=database.port, user=database.user,
            password=database.password, charset="utf8mb4",
        )  # fmt: skip
        if statement.startswith("CREATE"):
            statement += " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    else:
        import psycopg

        connection = psycopg.connect(
            host=database.host, port=database.port, user=database.user,
            password=database.password or None, dbname="postgres", autocommit=True,
        )  # fmt: skip
        if statement.startswith("DROP"):
            statement += " WITH (FORCE)"  # a killed app may leave connections behind
    try:
        connection.cursor().execute(statement)
    finally:
        connection.close()


class RedisServer:
    """redis-server on a free port, in the foreground of its own process: freeze, kill."""

    def __init__(self, tmp_path: Path, password: str = "") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _require("redis-server", "redis-server is not installed")
        self.port, self.password = free_port(), password
        auth = f":{quote(password, safe='')}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        extra = ["--requirepass", password] if password else []
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self._answers():
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def _answers(self) -> bool:
        import redis

        try:
            client = redis.Redis(port=self.port, password=self.password or None, socket_timeout=0.5)
            return bool(client.ping())
        except redis.RedisError:
            return False

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        with suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        self.process.wait(timeout=10)
