"""Fixtures of the health tests: real and hung services, a Celery worker, cgroups."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from stocks.health import checks

from .helpers import RABBITMQ_URL, REDIS_URL, WORKER, drop_celery_pools, service, write_cgroup


@pytest.fixture
def redis_url() -> str:
    return service("Redis", REDIS_URL)


@pytest.fixture
def rabbitmq_url() -> str:
    return service("RabbitMQ", RABBITMQ_URL)


@pytest.fixture
def hung_port():
    """A port that accepts connections and never answers: a hung service."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


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
        drop_celery_pools()

    yield use
    drop_celery_pools()


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
