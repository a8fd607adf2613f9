"""
The exactness promise, end to end: a running multi-worker gunicorn and the real Redis.
200 concurrent requests with a key that has 100 requests left today: exactly 100 are
answered, 100 get 429. (DRF's stock throttle, a read-modify-write of a list, admits more.)
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
WSGI_APP = "stockscanner_django.wsgi"
WORKERS = 3
REQUESTS, LEFT, CLIENTS = 200, 100, 32

SETUP = """
from django.contrib.auth import get_user_model
from stocks.access.models import Plan
from stocks.services.api_keys import create_key
get_user_model().objects.create_user("racer")
Plan.objects.filter(slug="basic").update(requests_per_minute=10_000, requests_per_day={left})
print(create_key(username="racer", plan="basic", name="race").secret)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def get(port: int, path: str, key: str | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"X-API-Key": key} if key else {})
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return -1
    finally:
        connection.close()


@pytest.mark.services
def test_gunicorn_and_redis__exactly_the_units_left_are_admitted(redis_url, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stockscanner_django.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": "",
        "RATE_LIMITS_ENABLED": "true",
        "API_KEY_CACHE_SECONDS": "60",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(WORKERS),
        "GUNICORN_THREADS": "4",
        "GUNICORN_MAX_REQUESTS": "0",
    }
    manage(env, "migrate", "--noinput", "-v0")
    key = manage(env, "shell", "-c", SETUP.format(left=LEFT)).strip().splitlines()[-1]
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", WSGI_APP],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while get(port, "/health/live/") != 200:
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.1)
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = Counter(
                pool.map(lambda _: get(port, "/api/market/sectors/", key), range(REQUESTS))
            )
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    assert statuses == {200: LEFT, 429: REQUESTS - LEFT}, (statuses, log_path.read_text()[-2000:])
