"""
README.md's production steps without Docker, run as written and in order, as a new user
would: a copy of the project, a fresh virtualenv installed from the registry, a new
MariaDB database and user, ``.env`` from the example, migrate, collectstatic, sample data;
then gunicorn, a Celery worker and beat, each started with the documented command. Only the
names (database, user, Redis) are swapped for the test's own, so nothing shared is touched.
On the MariaDB run only (a backend mismatch elsewhere); it needs the registry for ``pip``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from contextlib import suppress
from pathlib import Path

import pytest

from ..support.live import BASE_DIR, free_port, get
from ..support.servers import RedisServer, server_vendor

START, END = "<!-- production-steps:start -->", "<!-- production-steps:end -->"
ACTIVATE = ". .venv/bin/activate\nexport DJANGO_READ_DOT_ENV=true"  # steps 1 and 3, in a new shell


def documented_steps() -> str:
    readme = (BASE_DIR / "README.md").read_text()
    block = readme[readme.index(START) + len(START) : readme.index(END)]
    return block.split("```sh\n", 1)[1].rsplit("```", 1)[0]


def _copy_project(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=BASE_DIR, capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    for name in filter(None, listed):
        source = BASE_DIR / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _mysql(statement: str) -> None:
    subprocess.run(["mysql", "-h", "127.0.0.1", "-u", "root", "-e", statement], check=True)


@pytest.fixture
def project(tmp_path):
    if server_vendor() != "mysql":
        pytest.skip("backend mismatch: the documented steps are for MariaDB/MySQL")
    if shutil.which("mysql") is None:
        pytest.fail("the mysql client is required for the documented steps")
    root = tmp_path / "stockscanner"
    _copy_project(root)
    yield root


def test_readme_production_steps_work_as_written(project, tmp_path):
    steps = documented_steps()
    setup, processes = steps.split("# 5.", 1)
    commands = [line for line in processes.splitlines()[1:] if line and not line.startswith("#")]
    assert commands == [
        "gunicorn -c gunicorn.conf.py stockscanner_django.wsgi",
        "celery -A stockscanner_django worker",
        "celery -A stockscanner_django beat",
    ]
    suffix = uuid.uuid4().hex[:8]
    database, user = f"steps_{suffix}", f"steps_{suffix}"
    redis = RedisServer(tmp_path)
    names = "DB_NAME=stockscanner DB_USER=stockscanner"
    assert names in setup and "REDIS=redis://127.0.0.1:6379/0" in setup
    setup = setup.replace(names, f"DB_NAME={database} DB_USER={user}")
    setup = setup.replace("REDIS=redis://127.0.0.1:6379/0", f"REDIS={redis.url}")
    # CI's MariaDB administrator logs in over TCP (there is no sudo in the CI container).
    assert "sudo mysql -e" in setup
    setup = setup.replace("sudo mysql -e", "mysql -h 127.0.0.1 -u root -e")

    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CELERY_", "VIRTUAL_ENV"))
    }
    # The environment wins over .env (as README says): a free port, two workers.
    env.update(PORT=str(port), WEB_CONCURRENCY="2", PIP_DISABLE_PIP_VERSION_CHECK="1")
    started: list[subprocess.Popen] = []
    try:
        done = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + setup],
            cwd=project, env=env, capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])

        def start(command: str, log: str) -> subprocess.Popen:
            with (tmp_path / log).open("wb") as out:
                process = subprocess.Popen(
                    ["bash", "-c", f"{ACTIVATE}\n{command}"],
                    cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
            started.append(process)
            return process

        web = start(commands[0], "web.log")
        start(commands[1], "worker.log")
        beat = start(commands[2], "beat.log")

        deadline = time.monotonic() + 60
        while get(port, "/health/") != 200:  # the database and Redis answer through the app
            assert web.poll() is None, (tmp_path / "web.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "web.log").read_text()[-3000:]
            time.sleep(0.5)

        worker_log = tmp_path / "worker.log"
        _wait(lambda: " ready" in worker_log.read_text(errors="replace"), worker_log)
        enqueued = subprocess.run(
            ["bash", "-c", f"{ACTIVATE}\npython manage.py refresh_market_data --quotes --async"],
            cwd=project, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert enqueued.returncode == 0, enqueued.stderr[-3000:]
        task_id = enqueued.stdout.strip().rsplit(" ", 1)[1]

        def records() -> list[dict]:
            found = []
            for line in worker_log.read_text(errors="replace").splitlines():
                with suppress(ValueError):
                    found.append(json.loads(line))
            return found

        def ran(task: str) -> bool:
            # Ours, or beat's own first refresh (beat runs its entries at start; whichever
            # holds the lock, the other is skipped): INFO lines, as JSON, with the task.
            return any(
                r.get("task_id") == task and "succeeded" in r["message"] for r in records()
            ) and any(
                r["name"] == "stocks.tasks"
                and r["levelname"] == "INFO"
                and r.get("task_name") == "stocks.tasks.refresh_quotes"
                and r.get("task_id")
                for r in records()
            )

        _wait(lambda: ran(task_id), worker_log)  # the worker logs at INFO, as LOG_FORMAT says
        time.sleep(2)
        assert beat.poll() is None, (tmp_path / "beat.log").read_text()[-3000:]
        assert "beat: Starting" in (tmp_path / "beat.log").read_text()
        assert not list(project.glob("celerybeat-schedule*"))  # not in the project root
        assert (project / "staticfiles" / "admin").is_dir()  # collectstatic, in the project
    finally:
        for process in started:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        redis.stop()
        with suppress(subprocess.CalledProcessError):
            _mysql(f"DROP DATABASE IF EXISTS {database}; DROP USER IF EXISTS '{user}'@'%';")


def _wait(condition, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)


def test_the_steps_are_the_readme_block():
    """What the test runs is README's block, names aside: no hidden extra step."""
    steps = documented_steps()
    assert re.search(r"^python3\.11 -m venv \.venv$", steps, re.M)
    assert "export DJANGO_READ_DOT_ENV=true" in steps
    assert steps.index("CREATE DATABASE") < steps.index("python manage.py migrate")
    assert "python manage.py load_sample_data" in steps
