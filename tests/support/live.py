"""The app as deployed, for tests that need it whole: migrated, set up, under gunicorn."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
WSGI_APP = "stockscanner_django.wsgi"
START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None) -> int:
    """The status of one GET (-1 when the connection failed)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return -1
    finally:
        connection.close()


@dataclass
class LiveApp:
    port: int
    url: str
    setup_output: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@contextmanager
def live_app(tmp_path: Path, *, setup: str = "", workers: int = 1, **env_vars) -> Iterator[LiveApp]:
    """
    A fresh SQLite database, migrated; ``setup`` run in ``manage.py shell`` (its stdout is
    kept); then gunicorn with gunicorn.conf.py, answering on a free port.
    """
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stockscanner_django.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": "4",
        "GUNICORN_MAX_REQUESTS": "0",
        **env_vars,
    }
    manage(env, "migrate", "--noinput", "-v0")
    output = manage(env, "shell", "-c", setup) if setup else ""
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", WSGI_APP],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    app = LiveApp(port, f"http://127.0.0.1:{port}", output, log_path)
    try:
        deadline = time.monotonic() + START_SECONDS
        while get(port, "/health/live/") != 200:
            assert process.poll() is None, app.log()
            assert time.monotonic() < deadline, app.log()
            time.sleep(0.1)
        yield app
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
