"""Helpers of the health tests: services, checks that hang or break, cgroup files."""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlsplit

import kombu.pools
import pytest

from stocks.health import HealthCheck, run_checks
from stockscanner_django.celery import app as celery_app

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
WORKER = """\
import sys
from stockscanner_django.celery import app
app.conf.control_exchange = sys.argv[1]
app.worker_main(sys.argv[2:])
"""


def service(name: str, url: str) -> str:
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


def drop_celery_pools() -> None:
    # Celery reads its settings from Django's on each use, but keeps connection and
    # producer pools (its own, and kombu's per URL) and its control mailbox from the first.
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.__dict__.pop("control", None)


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


def health_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"health-{name}" and t.is_alive()]


def write_cgroup(directory, limit: str, current: int, inactive_file: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "memory.max").write_text(f"{limit}\n")
    (directory / "memory.current").write_text(f"{current}\n")
    (directory / "memory.stat").write_text(f"anon 1\ninactive_file {inactive_file}\nfile 2\n")
