"""
deploy/nginx in front of the app, as shipped: bounded requests answered in the JSON error
body, the client address forwarded. (Slow clients held by nginx rather than gunicorn:
tests/faults/test_slow_clients.py.)
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ..support.live import free_port, live_app
from ..support.nginx import nginx

pytestmark = pytest.mark.services


def request(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def json_error(status: int, headers: dict, body: bytes, expected: int) -> dict:
    assert status == expected, body[:300]
    assert headers["Content-Type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert error["status"] == expected and error["request_id"]
    return error


SETUP = """
from tests.factories import StockFactory
for n in range(3):
    StockFactory(ticker=f"PX{n}")
"""


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    with (
        live_app(tmp, setup=SETUP, TRUSTED_PROXY_COUNT="1", RATE_LIMITS_ENABLED="true") as app,
        nginx(tmp, [f"server 127.0.0.1:{app.port};"]) as port,
    ):
        yield port


def test_answers_through_the_proxy_with_the_client_address_it_saw(proxied):
    status, _, body = request(proxied, "GET", "/api/account/usage/", headers={
        "X-Forwarded-For": "6.6.6.6",  # written by the client: not believed
    })  # fmt: skip
    assert status == 200
    assert json.loads(body)["caller"] == {"type": "anonymous", "subnet": "127.0.0.0/24"}


@pytest.mark.parametrize("path", ["/metrics", "/metrics/"])
def test_metrics_is_not_served_through_the_proxy(proxied, path):
    """/metrics trusts the connecting address, which behind nginx is nginx's own: scrape the
    instances directly; through the proxy it is a JSON 404, token or not."""
    error = json_error(*request(proxied, "GET", path, headers={"Authorization": "Bearer x"}), 404)
    assert error["code"] == "not_found"


def test_a_url_over_8_kb_is_a_json_414(proxied):
    tickers = ",".join(f"T{n:06d}" for n in range(2000))
    error = json_error(*request(proxied, "GET", f"/api/stocks/?tickers={tickers}"), 414)
    assert "POST /api/stocks/screen/" in error["message"]


@pytest.mark.parametrize(
    "path",
    ["/api/stocks/", "/api/stocks/screen/", "/api/stocks/screen?x=1", "/api/stocks/PX1/history/",
     "/api/schema/", "/api/docs", "/health/", "/health/live/"],
)  # fmt: skip
def test_trace__a_json_405_allowing_what_the_app_allows(proxied, path):
    """nginx refuses TRACE itself, before any location: still in the JSON error body, with
    the Allow header RFC 9110 requires, the same as the app's own 405 for that path."""
    status, headers, body = request(proxied, "TRACE", path)
    assert json_error(status, headers, body, 405)["code"] == "method_not_allowed"
    app_status, app_headers, _ = request(proxied, "DELETE", path)  # passed on: the app's 405
    assert app_status == 405
    assert headers["Allow"] == app_headers["Allow"]


def test_nginx_errors_are_readable_by_a_browser_on_any_origin(proxied, tmp_path):
    """A member's browser JS gets nginx's own errors with CORS headers (else it sees only
    an opaque network error): the body and Retry-After are readable."""
    tickers = ",".join(f"T{n:06d}" for n in range(2000))
    origin = {"Origin": "https://members.example.org"}
    status, headers, _ = request(proxied, "GET", f"/api/stocks/?tickers={tickers}", headers=origin)
    assert status == 414
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Retry-After" in headers["Access-Control-Expose-Headers"]
    closed = free_port()
    with nginx(tmp_path, [f"server 127.0.0.1:{closed};"]) as port:
        status, headers, _ = request(port, "GET", "/api/stocks/", headers=origin)
    assert status == 502 and headers["Access-Control-Allow-Origin"] == "*"


def test_a_header_over_8_kb_is_a_json_400(proxied):
    json_error(*request(proxied, "GET", "/api/stocks/", headers={"X-Junk": "x" * 10_000}), 400)


def test_a_body_over_64_kb_is_a_json_413(proxied):
    body = b'{"sector": "' + b"x" * 100_000 + b'"}'
    headers = {"Content-Type": "application/json"}
    json_error(*request(proxied, "POST", "/api/stocks/screen/", body, headers), 413)


def test_500_long_tickers_go_as_post(proxied):
    tickers = [f"LONGTICKER{n:05d}" for n in range(500)]
    body = json.dumps({"tickers": tickers}).encode()
    status, _, answer = request(
        proxied, "POST", "/api/stocks/screen/", body, {"Content-Type": "application/json"}
    )
    assert status == 200 and json.loads(answer)["count"] == 0


def test_an_instance_that_is_down_is_a_json_502(tmp_path):
    closed = free_port()
    with nginx(tmp_path, [f"server 127.0.0.1:{closed};"]) as port:
        status, headers, body = request(port, "GET", "/api/stocks/")
    json_error(status, headers, body, 502)
    assert headers["Retry-After"] == "5"


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(1.0)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_over_64_connections_from_one_address_are_a_json_429(tmp_path):
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        servers = [f"server 127.0.0.1:{upstream.server_address[1]};"]
        with nginx(tmp_path, servers) as port, ThreadPoolExecutor(80) as pool:
            answers = list(pool.map(lambda _: request(port, "GET", "/x"), range(80)))
    finally:
        upstream.shutdown()
    statuses = Counter(status for status, _, _ in answers)
    assert statuses[200] >= 60 and statuses[429] >= 1, statuses
    refused = next(a for a in answers if a[0] == 429)
    json_error(*refused, 429)
    assert refused[1]["Retry-After"] == "1"


def test_request_id__the_clients_kept_else_nginxs_on_every_answer(proxied):
    status, headers, _ = request(
        proxied, "GET", "/health/live/", headers={"X-Request-ID": "abc-123"}
    )
    assert status == 200 and headers["X-Request-ID"] == "abc-123"  # through the app
    big = b"{" + b" " * 100_000 + b"}"
    for given, kept in (("abc-124", True), ("bad id!", False)):
        status, headers, body = request(proxied, "POST", "/api/stocks/screen/", big, {
            "Content-Type": "application/json", "X-Request-ID": given,
        })  # fmt: skip
        error = json_error(status, headers, body, 413)
        assert error["request_id"] == headers["X-Request-ID"]
        assert (headers["X-Request-ID"] == given) is kept
    # A request line too long to read has no headers yet: nginx's own id, in both places.
    status, headers, body = request(proxied, "GET", "/api/stocks/?t=" + "x" * 9000)
    error = json_error(status, headers, body, 414)
    assert error["request_id"] == headers["X-Request-ID"]


def test_client_written_scheme_and_forwarding_headers_never_reach_gunicorn(proxied):
    """gunicorn answers contradictory scheme headers with an HTML 400: none get through."""
    status, headers, _ = request(proxied, "GET", "/api/market/sectors/", headers={
        "X-Forwarded-Ssl": "on", "X-Forwarded-Proto": "https", "Forwarded": "proto=https",
        "X-Forwarded-Protocol": "ssl",
    })  # fmt: skip
    assert status == 200 and headers["Content-Type"] == "application/json"


def test_many_headers_are_not_a_gunicorn_html_431(proxied):
    headers = {f"X-Extra-{n}": "1" for n in range(150)}
    status, answer_headers, _ = request(proxied, "GET", "/api/market/sectors/", headers=headers)
    assert status == 200 and answer_headers["Content-Type"] == "application/json"


def test_links_keep_the_port_the_client_used(proxied):
    body = json.loads(request(proxied, "GET", "/api/stocks/?page_size=1&ordering=ticker")[2])
    assert body["count"] == 3
    assert body["next"].startswith(f"http://127.0.0.1:{proxied}/api/stocks/?")


class _Answers503(BaseHTTPRequestHandler):
    posts = 0

    def do_GET(self):
        body = b'{"error":{"status":503,"code":"database_unavailable"}}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        type(self).posts += 1
        self.close_connection = True  # dies without answering

    def log_message(self, *args):
        pass


def test_the_apps_own_503_reaches_the_client_and_a_post_is_never_repeated(tmp_path):
    upstreams = [ThreadingHTTPServer(("127.0.0.1", 0), _Answers503) for _ in range(2)]
    for server in upstreams:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        lines = [f"server 127.0.0.1:{s.server_address[1]} max_fails=1;" for s in upstreams]
        with nginx(tmp_path, lines) as port:
            statuses = [request(port, "GET", "/api/stocks/") for _ in range(3)]
            _Answers503.posts = 0
            posted = request(
                port, "POST", "/api/stocks/screen/", b"{}", {"Content-Type": "application/json"}
            )
    finally:
        for server in upstreams:
            server.shutdown()
    for status, _, body in statuses:
        assert status == 503 and json.loads(body)["error"]["code"] == "database_unavailable"
    assert posted[0] == 502 and _Answers503.posts == 1


def test_behind_a_tls_load_balancer__the_documented_production_settings_serve(tmp_path):
    """
    TLS ends at a load balancer in front of nginx, which passes on its X-Forwarded-Proto:
    with the production environment README.md documents, https requests are served (with
    HSTS), plain http ones redirected, and no redirect loops.
    """
    from ..support.production import DOCUMENTED_PRODUCTION

    env = {**DOCUMENTED_PRODUCTION, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}
    with (
        live_app(tmp_path, **env) as app,
        nginx(tmp_path, [f"server 127.0.0.1:{app.port};"], "$http_x_forwarded_proto") as port,
    ):
        secure = request(
            port, "GET", "/api/market/sectors/", headers={"X-Forwarded-Proto": "https"}
        )
        plain = request(port, "GET", "/api/market/sectors/", headers={"X-Forwarded-Proto": "http"})
    status, headers, _ = secure
    assert status == 200
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert plain[0] == 301 and plain[1]["Location"].startswith("https://")
