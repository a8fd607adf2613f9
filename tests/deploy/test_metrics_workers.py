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
import time
from concurrent.futures import ThreadPoolExecutor

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


def test_two_workers__every_scrape_shows_the_sum(tmp_path):
    with live_app(tmp_path, workers=2, GUNICORN_THREADS="1", HEALTH_TOKEN=TOKEN,
                  METRICS_TOKEN=TOKEN) as app:  # fmt: skip
        pids = worker_pids(app.port)
        assert len(set(pids)) == 2, "one worker answered everything; the test proves nothing"
        # Each scrape is answered by either worker, and counts all of them.
        for _ in range(6):
            assert requests_counted(app.port, "/system/memory/") == REQUESTS
        status, body = call(app.port, "/health/metrics/")
        assert status == 200
        report = json.loads(body)
        assert report["scope"].startswith("server")
        rows = {row["endpoint"]: row for row in report["endpoints"]}
        assert rows["/system/memory/"]["requests"] == REQUESTS
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
