"""Celery workers and beat as deployed: real processes on a real Redis broker."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from pathlib import Path

from .live import BASE_DIR

START_SECONDS = 60


def worker_env(database_url: str, redis_url: str, massive_url: str, **env_vars) -> dict:
    """The environment of the app's processes: web settings, Massive, the broker on Redis."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stockscanner_django.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": "",  # the cache's Redis, as .env.example leaves it
        "MARKET_DATA_PROVIDER": "massive",
        "MASSIVE_API_URL": massive_url,
        "MASSIVE_API_KEY": "worker-test-key",
        "PROVIDER_REQUESTS_PER_MINUTE": "0",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "text",
        **env_vars,
    }


class CeleryProcess:
    """``celery -A stockscanner_django <command>`` in a process group of its own."""

    def __init__(self, env: dict, log_path: Path, *args: str) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "stockscanner_django", *args],
                cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = START_SECONDS) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log())
            if match:
                return match
            assert self.process.poll() is None, (
                f"exited {self.process.returncode}:\n{self.log()[-4000:]}"
            )
            assert time.monotonic() < deadline, f"no {pattern!r} in:\n{self.log()[-4000:]}"
            time.sleep(0.1)

    def kill(self) -> None:
        """kill -9 of the whole process group (the main process and its pool)."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(env: dict, tmp_path: Path) -> CeleryProcess:
    name = f"w{uuid.uuid4().hex[:8]}"
    worker = CeleryProcess(
        env, tmp_path / f"{name}.log", "worker", "--pool", "prefork", "--concurrency", "1",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h",
    )  # fmt: skip
    worker.wait_for(rf"{name}@\S+ ready")
    return worker


def start_beat(env: dict, tmp_path: Path) -> CeleryProcess:
    """Beat as documented (no --schedule): its state goes to the temp directory, here tmp_path."""
    return CeleryProcess({**env, "TMPDIR": str(tmp_path)}, tmp_path / "beat.log", "beat")
