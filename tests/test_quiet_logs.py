"""A client's mistake is one log line, never a traceback."""

from __future__ import annotations

import logging
import sys

import pytest
from django.conf import settings

from stocks.logging import OneLine


def _formatted(name: str) -> str:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            name, logging.ERROR, __file__, 1, "Invalid HTTP_HOST", (), sys.exc_info()
        )
    OneLine().filter(record)
    return logging.Formatter("%(message)s").format(record)


def test_security_records_lose_their_traceback():
    assert _formatted("django.security.DisallowedHost") == "Invalid HTTP_HOST"


def test_other_records_keep_theirs():
    assert "Traceback" in _formatted("django.request")


def test_every_log_handler_applies_it():
    for name, handler in settings.LOGGING["handlers"].items():
        if name != "mail_admins":
            assert "one_line" in handler["filters"], name


@pytest.mark.django_db
def test_bad_host__400_json_and_one_line(client, caplog):
    caplog.set_level(logging.ERROR, logger="django.security")
    response = client.get("/api/stocks/", HTTP_HOST="evil.example")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    (record,) = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert record.exc_info is None
