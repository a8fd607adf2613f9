"""
Error mail to ADMINS (stocks/alerts.py), delivered to a real SMTP server on loopback
(aiosmtpd): one mail per error signature per ERROR_EMAIL_INTERVAL, with the count held back.
"""

from __future__ import annotations

import email
import email.policy
import logging
import sys
import time
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from rest_framework.test import APIClient

from stocks import alerts
from stocks.api import views

from .support.live import free_port
from .support.redis import CLOSED_PORT_REDIS_URL, redis_cache_settings

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"

    def bodies(self) -> list[str]:
        return [_text(m) for m in self.messages]


def _text(message: Message) -> str:
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def inbox(settings):
    """ADMINS mailed through SMTP to a server of the test's own on loopback."""
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.DEBUG = False
    try:
        yield handler
    finally:
        controller.stop()


def failing(monkeypatch, where: str = "first"):
    """The stock list fails, at one of two places (two signatures)."""

    def first(self, request, *args, **kwargs):
        raise RuntimeError("the first bug")

    def second(self, request, *args, **kwargs):
        raise RuntimeError("the second bug")

    monkeypatch.setattr(views.StockViewSet, "list", first if where == "first" else second)


def fail(times: int) -> None:
    client = APIClient(raise_request_exception=False)
    for _ in range(times):
        assert client.get("/api/stocks/").status_code == 500


def test_many_identical_errors__one_mail(inbox, monkeypatch, settings):
    settings.ERROR_EMAIL_INTERVAL = 600
    failing(monkeypatch)
    fail(25)
    assert len(inbox.messages) == 1
    (mail,) = inbox.messages
    assert mail["To"] == "ops@example.com"
    assert "Internal Server Error: /api/stocks/" in mail["Subject"]
    body = _text(mail)
    line = views_line("first")
    assert f"Error signature: RuntimeError at tests/test_alerts.py:{line} in first" in body
    assert "At most one mail per signature every 600 seconds." in body
    assert "the first bug" in body  # Django's report follows


def test_another_error__a_mail_of_its_own(inbox, monkeypatch, settings):
    settings.ERROR_EMAIL_INTERVAL = 600
    failing(monkeypatch, "first")
    fail(3)
    failing(monkeypatch, "second")
    fail(3)
    assert len(inbox.messages) == 2
    assert "the first bug" in inbox.bodies()[0]
    assert "the second bug" in inbox.bodies()[1]


def test_after_the_interval__the_next_mail_counts_those_held_back(inbox, monkeypatch, settings):
    settings.ERROR_EMAIL_INTERVAL = 1
    failing(monkeypatch)
    fail(5)
    time.sleep(1.2)
    fail(1)
    assert len(inbox.messages) == 2
    assert "(+" not in inbox.messages[0]["Subject"]
    assert inbox.messages[1]["Subject"].endswith("(+4 more)")
    assert "4 more of this error since the last mail were not mailed." in inbox.bodies()[1]
    time.sleep(1.2)
    fail(1)  # nothing held back since: no count
    assert len(inbox.messages) == 3
    assert "(+" not in inbox.messages[2]["Subject"]


def test_interval_zero__every_error_mailed(inbox, monkeypatch, settings):
    settings.ERROR_EMAIL_INTERVAL = 0
    failing(monkeypatch)
    fail(3)
    assert len(inbox.messages) == 3


@pytest.mark.services
def test_with_redis__one_budget_for_every_process(inbox, monkeypatch, settings, redis_url):
    """Another process (its own memory forgotten here) finds the signature already mailed."""
    from django.core.cache import cache

    settings.CACHES = redis_cache_settings(redis_url)
    settings.ERROR_EMAIL_INTERVAL = 600
    failing(monkeypatch)
    try:
        fail(2)
        alerts.forget_local()
        fail(2)
        assert len(inbox.messages) == 1
    finally:
        cache.delete_pattern("*")


@pytest.mark.services
def test_with_redis_down__each_process_still_mails_once(inbox, monkeypatch, settings):
    settings.CACHES = redis_cache_settings(CLOSED_PORT_REDIS_URL)
    settings.ERROR_EMAIL_INTERVAL = 600
    failing(monkeypatch)
    fail(4)
    assert len(inbox.messages) == 1


def test_smtp_down__the_request_still_answers(monkeypatch, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # refused
    settings.ADMINS = [("Ops", "ops@example.com")]
    failing(monkeypatch)
    fail(2)  # the JSON 500, not an exception from the handler


# --- signatures ------------------------------------------------------------------------------


def _record(exc: Exception) -> logging.LogRecord:
    try:
        raise exc
    except Exception:  # noqa: BLE001 - whatever was raised is the record's
        return logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())


def test_signature__the_innermost_frame_of_our_code():
    import json

    try:
        json.loads("{")  # raised inside the standard library
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", None, sys.exc_info())
    sig = alerts.signature(record)
    assert sig.startswith("json.decoder.JSONDecodeError at tests/test_alerts.py:")
    assert sig.endswith("in test_signature__the_innermost_frame_of_our_code")


def test_signature__the_type_and_place_not_the_message():
    assert alerts.signature(_record(ValueError("a"))) == alerts.signature(_record(ValueError("b")))
    assert alerts.signature(_record(ValueError("a"))) != alerts.signature(_record(KeyError("a")))


def test_signature__a_logged_error_without_an_exception():
    record = logging.LogRecord("stocks.x", logging.ERROR, __file__, 42, "went wrong", None, None)
    assert alerts.signature(record) == "stocks.x at tests/test_alerts.py:42"


def views_line(which: str) -> int:
    """The line of ``failing``'s ``which`` function that raises."""
    import inspect

    source, start = inspect.getsourcelines(failing)
    bug = f'raise RuntimeError("the {which} bug")'
    return start + next(n for n, text in enumerate(source) if bug in text)


@pytest.mark.django_db(transaction=True)  # (in a test's transaction PostgreSQL would refuse
# every query after the first error, a third error of its own)
def test_two_database_bugs__two_mails(inbox, monkeypatch, settings):
    """Every query passes through the metrics wrapper: a signature must name the bug's line,
    not that plumbing, or one database bug would mute every other."""
    from django.db import connection

    settings.ERROR_EMAIL_INTERVAL = 600

    def first(self, request, *args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM stocks_stock")

    def second(self, request, *args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT also_missing FROM stocks_stock")

    monkeypatch.setattr(views.StockViewSet, "list", first)
    fail(2)
    monkeypatch.setattr(views.StockViewSet, "list", second)
    fail(2)
    assert len(inbox.messages) == 2
    signatures = [line for body in inbox.bodies() for line in body.splitlines()
                  if line.startswith("Error signature:")]  # fmt: skip
    assert len(set(signatures)) == 2
    assert all("tests/test_alerts.py" in line for line in signatures), signatures


def test_smtp_down__the_turn_is_given_back(inbox, monkeypatch, settings):
    """A mail that could not be sent does not spend the interval: the next error is mailed,
    counting the one that was not."""
    settings.ERROR_EMAIL_INTERVAL = 600
    failing(monkeypatch)
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # refused
    fail(1)
    settings.EMAIL_PORT = port
    fail(1)
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"].endswith("(+1 more)")


@pytest.mark.services
def test_with_redis__concurrent_errors_one_mail(inbox, monkeypatch, settings, redis_url):
    """Eight threads failing at once (as many workers would): one mail, the rest counted."""
    from concurrent.futures import ThreadPoolExecutor

    from django.core.cache import cache

    settings.CACHES = redis_cache_settings(redis_url)
    settings.ERROR_EMAIL_INTERVAL = 600
    sig = "RuntimeError at somewhere.py:1 in f"
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: alerts.admit(sig), range(40)))
        assert answers.count(0) == 1
        assert answers.count(None) == 39
        cache.delete(alerts._keys(sig)[0])  # the interval is over
        assert alerts.admit(sig) == 39
    finally:
        cache.delete_pattern("*")
