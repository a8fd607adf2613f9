"""
One client's hostile requests against gunicorn as shipped (5 sync workers), on this run's
database (a scratch one on MySQL/PostgreSQL runs, SQLite otherwise), ADMINS set and mail
printed to the log, so a mailed 500 would show. Findings:

- a 10 MB request line took 10 s per request (40 MB: 30 s, the worker killed, an HTML 500,
  RSS 78 -> 208 MB); five of them held every worker;
- a cursor with a huge Decimal exponent took 2.5 s and 190 MB on MariaDB, then a false 503
  retried three times; a lone surrogate in a cursor was a 500 (NUL on PostgreSQL), each
  one mailed to ADMINS.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from urllib.parse import quote

import psutil
import pytest
from django.core import signing

from stocks.screen.paging import CURSOR_SALT

from ..support.live import Instance, app_env, free_port, get, manage, prepare
from ..support.load import Probe, fetch, figures
from ..support.servers import scratch_database, server_vendor

SECRET = "fault-suite-" + "k8Zq3Xw9" * 6
SETUP = """
from tests.factories import StockFactory
for n in range(30):
    StockFactory(ticker=f"HS{n:02d}")
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    port = free_port()
    extra = {
        "DJANGO_SECRET_KEY": SECRET,
        "ADMINS": "Ops <ops@example.com>",
        "EMAIL_URL": "consolemail://",
        "RATE_LIMITS_ENABLED": "false",
        "GUNICORN_THREADS": "1",  # as shipped: sync workers
    }
    with _database(tmp) as url:
        env = app_env(tmp, port, workers=5, DATABASE_URL=url, **extra)
        prepare(env, SETUP)
        instance = Instance(env, port, tmp / "gunicorn.log").start()
        _warm(port)
        try:
            yield instance
        finally:
            instance.kill()


class _database:
    """The run's backend: a scratch server database, or a SQLite file."""

    def __init__(self, tmp) -> None:
        self.tmp, self.scratch = tmp, None

    def __enter__(self) -> str:
        if server_vendor() is None:
            return f"sqlite:///{self.tmp / 'db.sqlite3'}"
        self.scratch = scratch_database()
        return self.scratch.__enter__().url()

    def __exit__(self, *exc) -> None:
        if self.scratch is not None:
            self.scratch.__exit__(*exc)


def _warm(port: int) -> None:
    """Every worker warm (a worker replaced since is cold): what grows later is the attack's."""
    for _ in range(40):
        for path in ("/health/", "/api/stocks/?ordering=price", "/api/stocks/HS01/",
                     "/api/stocks/?cursor=x:" + "x" * 43, "/api/stocks/?price_min=x"):  # fmt: skip
            fetch(port, path)


def _workers_rss(instance: Instance) -> int:
    master = psutil.Process(instance.process.pid)
    return sum(child.memory_info().rss for child in master.children())


MAIL_SUBJECT = "Subject: [Stock Scanner] "  # ADMINS' mails (EMAIL_SUBJECT_PREFIX), on the console


def _mails(instance: Instance) -> int:
    return instance.log_path.read_text(errors="replace").count(MAIL_SUBJECT)


def _long_line(port: int, megabytes: int, results: list) -> None:
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(b"GET /health/live/?x=")
            chunk = b"a" * 65536
            try:
                for _ in range(megabytes * 16):
                    sock.sendall(chunk)
                sock.sendall(b" HTTP/1.1\r\nHost: x\r\n\r\n")
            except OSError:
                pass  # refused mid-line: what we want
            answer = sock.recv(200)
    except OSError as exc:
        answer = type(exc).__name__.encode()
    results.append((time.monotonic() - started, answer.split(b"\r\n", 1)[0]))


def test_huge_request_lines__refused_at_once_and_workers_stay_free(app):
    rss_before = _workers_rss(app)
    results: list = []
    with Probe(app.port, "/health/") as probe:
        time.sleep(0.3)
        senders = [
            threading.Thread(target=_long_line, args=(app.port, 10, results)) for _ in range(5)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=60)
        time.sleep(0.3)
    rss_after = _workers_rss(app)
    slowest = max(seconds for seconds, _ in results)
    print(
        f"5 x 10 MB request lines: slowest answer {slowest * 1000:.0f} ms, "
        f"{sorted({line.decode() for _, line in results})}; "
        f"workers' RSS {rss_before / 1e6:.0f} -> {rss_after / 1e6:.0f} MB"
    )
    figures("/health/ meanwhile", probe.samples)
    assert len(results) == 5 and slowest < 2.0, results
    assert all(not line.startswith(b"HTTP/1.1 200") for _, line in results), results
    assert {s.status for s in probe.samples} == {200}, probe.samples
    assert max(s.seconds for s in probe.samples) < 1.0, probe.samples
    assert rss_after - rss_before < 20e6, (rss_before, rss_after)
    assert get(app.port, "/health/live/") == 200


def _signed_cursor(payload: dict) -> str:
    """A cursor signed with the server's own key: the checks behind the signature."""
    raw = json.dumps(payload, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return signing.Signer(key=SECRET, salt=CURSOR_SALT, algorithm="sha256").sign(body)


def _unsigned(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


HOSTILE_CURSORS = {
    # The findings, as sent then (unsigned), and signed with the server's key.
    "huge exponent": ({"v": "1e100000000", "t": "A", "b": False, "o": "price", "d": None},
                      "price"),
    "lone surrogate": ({"v": None, "t": "\ud800", "b": False, "o": "ticker", "d": None},
                       "ticker"),
    "NUL": ({"v": None, "t": "A\u0000", "b": False, "o": "ticker", "d": None}, "ticker"),
    "NUL in a name": ({"v": "A\u0000B", "t": "A", "b": False, "o": "name", "d": None}, "name"),
}  # fmt: skip


@pytest.mark.parametrize("name", HOSTILE_CURSORS)
def test_hostile_cursors__refused_fast_no_mail_no_memory(app, name):
    """Unsigned: not written as ours are, a 400; signed with the server's key: a position we
    never made, a 404 invalid_cursor. Both at once, with no mail and no memory."""
    payload, ordering = HOSTILE_CURSORS[name]
    _warm(app.port)
    mails, rss_before = _mails(app), _workers_rss(app)
    samples = []
    for token in (_unsigned(payload), _signed_cursor(payload)):
        for _ in range(5):
            samples.append(
                fetch(app.port, f"/api/stocks/?ordering={ordering}&cursor={quote(token)}")
            )
    figures(f"cursor with {name} (unsigned and signed, 5 each)", samples)
    assert {(s.status, s.code) for s in samples} == {(400, "invalid"), (404, "invalid_cursor")}
    assert max(s.seconds for s in samples) < 0.5
    assert _workers_rss(app) - rss_before < 20e6
    assert _mails(app) == mails


def test_the_mail_count_would_see_a_mail(app):
    """The no-mail assertions above can fail: a mail to ADMINS, sent with the server's own
    settings, prints the subject they count."""
    assert MAIL_SUBJECT in manage(app.env, "sendtestemail", "--admins")
    assert "Traceback" not in app.log_path.read_text(errors="replace")


HOSTILE_PATHS = [
    "/api/stocks/?sector=%00",
    # A lone surrogate's UTF-8 bytes: invalid UTF-8, which Django decodes to U+FFFD, a
    # character like any other (a 200 with no match).
    "/api/stocks/?sector=%ED%A0%80",
    "/api/stocks/?tickers=AAPL,%00",
    "/api/stocks/?fields=ticker,%00",
    "/api/stocks/?ordering=%00",
    "/api/stocks/search/?q=%00",
    "/api/stocks/search/?q=%ED%A0%80",
    "/api/stocks/%00/",
    "/api/stocks/HS01%00/history/",
    "/api/stocks/?price_min=1e100000000",
    "/api/stocks/?page=99999999999999999999999",
]


def test_hostile_parameters__never_5xx_errors_in_json(app):
    mails = _mails(app)
    samples = [fetch(app.port, path) for path in HOSTILE_PATHS]
    figures("NUL, lone surrogates and huge numbers in parameters", samples)
    for sample in samples:
        assert sample.status == 200 or 400 <= sample.status < 500, sample
        assert sample.status == 200 or sample.code not in (None, "not the JSON error body")
    assert sum(1 for s in samples if s.status != 200) >= len(samples) - 2
    assert _mails(app) == mails
