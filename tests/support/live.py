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


def app_env(tmp_path: Path, port: int, *, workers: int = 1, **env_vars) -> dict:
    """The environment of one gunicorn instance of the app, on ``tmp_path``'s database."""
    return {
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
        # The workers' metrics files, under the test's own directory (a killed gunicorn
        # cannot remove a temporary one).
        "METRICS_DIR": str(tmp_path / "metrics"),
        **env_vars,
    }


def prepare(env: dict, setup: str = "") -> str:
    """Migrate the database of ``env`` and run ``setup`` in ``manage.py shell``: its output."""
    manage(env, "migrate", "--noinput", "-v0")
    return manage(env, "shell", "-c", setup) if setup else ""


class Instance:
    """One gunicorn of the app, started, stopped and restarted on its own port."""

    def __init__(self, env: dict, port: int, log_path: Path) -> None:
        self.env, self.port, self.log_path = env, port, log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> Instance:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", WSGI_APP],
                cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: kill() ends master and workers
            )  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while get(self.port, "/health/live/") != 200:
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.1)
        return self

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, as a rolling restart sends it; the exit code once it has drained."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """kill -9 of the master and every worker."""
        if self.process is not None and self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> bytes:
        """What the instance logged (its access log included) after byte ``offset``."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read()


@contextmanager
def live_app(tmp_path: Path, *, setup: str = "", workers: int = 1, **env_vars) -> Iterator[LiveApp]:
    """
    A fresh SQLite database, migrated; ``setup`` run in ``manage.py shell`` (its stdout is
    kept); then gunicorn with gunicorn.conf.py, answering on a free port.
    """
    port = free_port()
    env = app_env(tmp_path, port, workers=workers, **env_vars)
    output = prepare(env, setup)
    instance = Instance(env, port, tmp_path / "gunicorn.log")
    try:
        instance.start()
        yield LiveApp(port, f"http://127.0.0.1:{port}", output, instance.log_path)
    finally:
        instance.kill()
