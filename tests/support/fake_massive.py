"""
A server that answers like Massive (the recorded responses of tests/providers/recorded),
on a port of its own, for the processes a test starts (a Celery worker): it can fail on
demand, hold a request until told, and counts what it was asked.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .providers import RECORDED as PROVIDERS_RECORDED

RECORDED = PROVIDERS_RECORDED / "massive"
GROUPED = re.compile(r"^/v2/aggs/grouped/locale/us/market/stocks/(\d{4}-\d{2}-\d{2})$")


def _load(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


class FakeMassive:
    def __init__(self, key: str = "worker-test-key") -> None:
        self.key = key
        self.requests: list[str] = []
        self.failures_left = 0
        self.fail_status = 500
        self.hold_path: str | None = None
        self.held = threading.Event()  # a held request has arrived
        self.release = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                fake._answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def count(self, path_part: str) -> int:
        with self._lock:
            return sum(path_part in path for path in self.requests)

    def fail(self, times: int, status: int = 500) -> None:
        with self._lock:
            self.failures_left, self.fail_status = times, status

    def hold(self, path_part: str) -> None:
        """Requests whose path contains ``path_part`` wait until ``release`` is set."""
        self.hold_path = path_part
        self.held.clear()
        self.release.clear()

    # --- answering ------------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        with self._lock:
            self.requests.append(handler.path)
            failing = self.failures_left > 0
            if failing:
                self.failures_left -= 1
        if handler.headers.get("Authorization") != f"Bearer {self.key}":
            return self._send(handler, 401, _load("error_401.json"))
        if failing:
            return self._send(
                handler, self.fail_status, {"status": "ERROR", "error": "fake outage"}
            )
        if self.hold_path and self.hold_path in path:
            self.held.set()
            self.release.wait(60)
        if path == "/v2/snapshot/locale/us/markets/stocks/tickers":
            body = _load("snapshot.json")
            now_ns = time.time_ns() - 60 * 10**9  # a minute ago: newer than any stored quote
            for row in body["tickers"]:
                row["updated"] = now_ns
            return self._send(handler, 200, body)
        match = GROUPED.match(path)
        if match:
            body = _load("grouped_daily_2026-11-20.json")
            day = date.fromisoformat(match.group(1))
            # Prices move a little with the day, so each day's bars are told apart.
            for row in body["results"]:
                for field in ("o", "h", "l", "c"):
                    row[field] = round(row[field] * (1 + day.toordinal() % 7 / 1000), 4)
            return self._send(handler, 200, body)
        if path == "/v3/reference/tickers":
            page = _load("tickers_page_1.json")
            page["next_url"] = f"{self.url}/v3/reference/tickers?cursor=page2"
            if "cursor=page2" in handler.path:
                page = _load("tickers_page_2.json")
            return self._send(handler, 200, page)
        self._send(handler, 404, {"status": "NOT_FOUND", "message": "no such path"})

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client is gone (a killed worker)
