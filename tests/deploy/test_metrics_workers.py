"""
/metrics and /health/metrics/ under gunicorn as shipped (gunicorn.conf.py): two worker
processes, each answering some of the requests; whichever answers the scrape shows the sum.
A worker killed and replaced keeps its requests in the totals.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..support.live import live_app

TOKEN = "metrics-token-for-the-worker-test"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
REQUESTS = 60


def call(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=HEADERS)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def requests_counted(port: int, route: str) -> float:
    status, body = call(port, "/metrics")
    assert status == 200, body
    return sum(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "stockscanner_http_requests_total" and sample.labels["route"] == route
    )


def worker_pids(port: int) -> list[int]:
    """The pid of the worker that answered each of REQUESTS concurrent calls."""
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: call(port, "/system/memory/"), range(REQUESTS)))
    assert {status for status, _ in answers} == {200}
    return [json.loads(body)["process"]["pid"] for _, body in answers]


def both_workers_answering(port: int, seconds: float = 20) -> tuple[list[int], int]:
    """
    Worker pids of REQUESTS concurrent calls once both workers answer, and how many calls
    that took. The app answers as soon as one worker is up; the second may boot a moment
    later, and until then the first answers everything (a fast answer is over before the
    other could take one).
    """
    deadline = time.monotonic() + seconds
    sent = REQUESTS
    while len(set(pids := worker_pids(port))) < 2:
        assert time.monotonic() < deadline, "one worker answered all: the test proves nothing"
        time.sleep(0.2)
        sent += REQUESTS
    return pids, sent


def test_two_workers__every_scrape_shows_the_sum(tmp_path):
    with live_app(tmp_path, workers=2, GUNICORN_THREADS="1", HEALTH_TOKEN=TOKEN,
                  METRICS_TOKEN=TOKEN) as app:  # fmt: skip
        pids, sent = both_workers_answering(app.port)
        # Each scrape is answered by either worker, and counts all of them.
        for _ in range(6):
            assert requests_counted(app.port, "/system/memory/") == sent
        status, body = call(app.port, "/health/metrics/")
        assert status == 200
        report = json.loads(body)
        assert report["scope"].startswith("server")
        rows = {row["endpoint"]: row for row in report["endpoints"]}
        assert rows["/system/memory/"]["requests"] == sent
        assert rows["/system/memory/"]["p50_ms"] > 0

        # kill -9 one worker: gunicorn replaces it, and its requests stay counted.
        victim = pids[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while True:
            now = set(worker_pids(app.port))
            if victim not in now and len(now) == 2:
                break
            assert time.monotonic() < deadline, app.log()
            time.sleep(0.2)
        counted = requests_counted(app.port, "/system/memory/")
        # the first REQUESTS, and every call made while waiting for the new worker
        assert counted >= 2 * REQUESTS
        assert counted % REQUESTS == 0
        status, body = call(app.port, "/metrics")
        in_flight = [
            sample.value
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples
            if sample.name == "stockscanner_http_requests_in_flight"
        ]
        assert in_flight == [1.0]  # the scrape; nothing left over from the dead worker
    assert "Traceback" not in app.log_path.read_text()


def _db_files(directory) -> list[str]:
    return sorted(p.name for p in directory.glob("*.db"))


def test_recycled_workers__folded_into_one_archive_the_totals_exact(tmp_path):
    """Each recycled worker's files are merged into one archive per kind: a scrape reads a
    few files however many workers came and went, and no request is lost or counted twice."""
    directory = tmp_path / "metrics"
    with live_app(tmp_path, workers=2, GUNICORN_THREADS="1", METRICS_TOKEN=TOKEN,
                  METRICS_DIR=str(directory), GUNICORN_MAX_REQUESTS="7",
                  GUNICORN_MAX_REQUESTS_JITTER="0") as app:  # fmt: skip
        for _ in range(70):
            assert call(app.port, "/health/ready/")[0] == 200
        time.sleep(1)  # the last recycled workers' exits handled
        counted = requests_counted(app.port, "/health/ready/")
        files = _db_files(directory)
    assert counted == 70
    assert "counter_archive.db" in files and "histogram_archive.db" in files
    live = [name for name in files if "archive" not in name]
    # Two live workers' files (counter, histogram, gauges); ~10 recycled ones folded away.
    assert len(live) <= 2 * 6, files
    assert "Traceback" not in app.log_path.read_text()


@pytest.mark.parametrize("recycled", ["0", "3"])
def test_the_directory_removed_under_the_workers__answers_not_500s(tmp_path, recycled):
    """A temp cleaner removes the directory: figures are lost, never answers (whether or not
    a new worker starts after it)."""
    import shutil

    directory = tmp_path / "metrics"
    paths = ("/health/live/", "/api/stocks/", "/metrics", "/health/metrics/")
    with live_app(tmp_path, workers=1, GUNICORN_THREADS="1", METRICS_TOKEN=TOKEN,
                  HEALTH_TOKEN=TOKEN, METRICS_DIR=str(directory),
                  GUNICORN_MAX_REQUESTS=recycled,
                  GUNICORN_MAX_REQUESTS_JITTER="0") as app:  # fmt: skip
        shutil.rmtree(directory)
        statuses = [call(app.port, path)[0] for _ in range(4) for path in paths]
    assert set(statuses) == {200}, statuses


def test_reload__keeps_the_totals(tmp_path):
    """HUP re-reads gunicorn.conf.py and replaces the workers: the counts stay."""
    with live_app(tmp_path, workers=2, GUNICORN_THREADS="1", METRICS_TOKEN=TOKEN) as app:
        for _ in range(20):
            call(app.port, "/health/ready/")
        before = requests_counted(app.port, "/health/ready/")
        os.kill(_master_pid(app), signal.SIGHUP)
        time.sleep(2)
        after = requests_counted(app.port, "/health/ready/")
        log = app.log_path.read_text()
    assert "Hang up" in log  # the reload happened
    assert before == 20
    assert after == 20


def _master_pid(app) -> int:
    import re

    text = app.log_path.read_text()
    return int(re.search(r"Listening at: .*? \((\d+)\)", text).group(1))


def test_an_inherited_metrics_directory_is_not_used_outside_gunicorn(tmp_path):
    """manage.py (or a Celery worker) given PROMETHEUS_MULTIPROC_DIR keeps its figures to
    itself: nothing written there, nothing refused."""
    import subprocess
    import sys

    from ..support.live import BASE_DIR

    directory = tmp_path / "inherited"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory),
           "DJANGO_SETTINGS_MODULE": "stockscanner_django.settings"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from stocks import metrics; metrics.IN_FLIGHT.inc(); print(metrics.multiprocess_dir())"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "None"
    assert list(directory.iterdir()) == []


def test_a_temporary_directory_of_its_own__removed_at_exit(tmp_path):
    from pathlib import Path

    from ..support.live import Instance, app_env, free_port, prepare

    port = free_port()
    env = app_env(tmp_path, port, workers=1, METRICS_DIR="")  # unset: gunicorn makes one
    prepare(env)
    temp = Path(tempfile.gettempdir())
    before = set(temp.glob("stockscanner-metrics-*"))
    instance = Instance(env, port, tmp_path / "gunicorn.log").start()
    try:
        (directory,) = set(temp.glob("stockscanner-metrics-*")) - before
        assert list(directory.glob("*.db"))  # the workers' files are there
    finally:
        assert instance.terminate() == 0
    assert not directory.exists()
