"""
gunicorn as gunicorn.conf.py configures it. SIGTERM: the request in flight is finished,
new connections are refused meanwhile, then the server exits by itself. Long request
lines reach Django (and its JSON answers) instead of gunicorn's HTML 400.

A real gunicorn (gunicorn.conf.py, one sync worker) serves tests/shutdown_site: the
project plus /slow/, which marks that it has started and then takes SLOW_SECONDS. The
shutdown scenario runs once per module; each test checks one outcome of it.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .shutdown_site.views import PAYLOAD

BASE_DIR = Path(__file__).resolve().parent.parent
GRACEFUL_TIMEOUT = 10
SLOW_SECONDS = 2.0
START_TIMEOUT = 30  # importing Django and the project in a fresh interpreter
WSGI_APP = "stockscanner_django.wsgi"  # as deployed; DJANGO_SETTINGS_MODULE picks the site


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    marker: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_for(self, condition: Callable[[], bool], *, seconds: float, what: str) -> None:
        """Poll ``condition`` until it holds; fail at the deadline or if gunicorn exits."""
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {seconds}s; gunicorn log:\n{self.log()}")
            try:  # the pause between polls doubles as a check that gunicorn is still up
                code = self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"gunicorn exited ({code}) before {what}; log:\n{self.log()}")

    def is_live(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            connection.request("GET", "/health/live/")
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()


@dataclass
class Fetch:
    """A GET in a thread; what came back, and when."""

    port: int
    path: str = "/slow/"
    status: int | None = None
    body: bytes = b""
    error: str | None = None
    finished_at: float | None = None
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._fetch, name=f"GET {self.path}", daemon=True)
        self.thread.start()

    def _fetch(self) -> None:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=GRACEFUL_TIMEOUT + SLOW_SECONDS
        )
        try:
            connection.request("GET", self.path)
            response = connection.getresponse()
            self.status, self.body = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.error = repr(exc)
        finally:
            connection.close()
            self.finished_at = time.monotonic()


@dataclass
class Shutdown:
    """What happened around the SIGTERM."""

    server: Server
    request: Fetch  # in flight at the signal
    late: Fetch  # sent after the signal
    sigterm_at: float
    exit_code: int | None
    exited_at: float | None


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.shutdown_site.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "SLOW_VIEW_MARKER": str(tmp / "slow-view-started"),
        "SLOW_VIEW_SECONDS": str(SLOW_SECONDS),
        # Read by gunicorn.conf.py.
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "1",
        "GUNICORN_GRACEFUL_TIMEOUT": str(GRACEFUL_TIMEOUT),
        "GUNICORN_MAX_REQUESTS": "0",
    }
    log_path = tmp / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", WSGI_APP],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown kills master and workers
        )
    server = Server(process, port, tmp / "slow-view-started", log_path)
    try:
        server.wait_for(server.is_live, seconds=START_TIMEOUT, what="answer on /health/live/")
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def shutdown(gunicorn: Server) -> Shutdown:
    """Start a slow request, SIGTERM the master while it is in flight, wait for the exit."""
    request = Fetch(gunicorn.port)
    gunicorn.wait_for(gunicorn.marker.exists, seconds=10, what="slow view started")
    sigterm_at = time.monotonic()
    gunicorn.process.send_signal(signal.SIGTERM)
    late = Fetch(gunicorn.port, "/health/live/")
    request.thread.join(timeout=GRACEFUL_TIMEOUT + SLOW_SECONDS)
    late.thread.join(timeout=GRACEFUL_TIMEOUT + SLOW_SECONDS)
    try:
        exit_code = gunicorn.process.wait(timeout=GRACEFUL_TIMEOUT + 5)
        exited_at = time.monotonic()
    except subprocess.TimeoutExpired:
        exit_code = exited_at = None
    return Shutdown(gunicorn, request, late, sigterm_at, exit_code, exited_at)


def test_long_request_line__up_to_8_kb_reaches_django(gunicorn):
    """A 7 KB query string is answered by the app (JSON, request id)."""
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn.port, timeout=10)
    try:
        connection.request("GET", "/api/nope/?q=" + "x" * 7_000)
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 404
    assert body["error"]["code"] == "not_found"
    assert body["error"]["request_id"] == response.getheader("X-Request-ID")


def test_long_request_line__bounded(gunicorn):
    """A 10 MB request line is refused at once: no worker spends seconds reading it."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", gunicorn.port), timeout=10) as sock:
        with suppress(OSError):  # refused mid-send: what we want
            sock.sendall(b"GET /health/live/?x=" + b"x" * 10_000_000 + b" HTTP/1.1\r\n\r\n")
        answer = sock.recv(200)
    assert time.monotonic() - started < 5
    assert answer.startswith(b"HTTP/1.1 400")
    assert gunicorn.is_live()


def test_sigterm__in_flight_request_completes(shutdown):
    """The request in flight at SIGTERM is answered 200 with its whole body."""
    request = shutdown.request
    assert not request.thread.is_alive(), "the slow request never finished"
    assert request.error is None, f"{request.error}\n{shutdown.server.log()}"
    assert request.status == 200
    assert json.loads(request.body) == {"slept": SLOW_SECONDS, "payload": PAYLOAD}
    assert request.finished_at > shutdown.sigterm_at  # it really was in flight


def test_sigterm__server_exits_within_graceful_timeout(shutdown):
    """Once the request is done gunicorn exits cleanly by itself, inside the graceful timeout."""
    assert shutdown.exit_code == 0, shutdown.server.log()
    assert shutdown.exited_at - shutdown.sigterm_at < GRACEFUL_TIMEOUT
    assert "was sent SIGKILL" not in shutdown.server.log()


def test_sigterm__request_after_the_signal_not_served(shutdown):
    """A request sent during the drain is not served: refused or reset, to be retried elsewhere."""
    late = shutdown.late
    assert not late.thread.is_alive()
    assert late.status is None, f"served {late.status} after SIGTERM"
    assert late.error is not None
    assert any(kind in late.error for kind in ("Refused", "Reset", "RemoteDisconnected"))
