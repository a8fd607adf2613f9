"""A client's mistake is one log line, never a traceback."""

from __future__ import annotations

import logging
import sys

import pytest
from django.conf import settings

from stocks.logging import OncePerInterval, OneLine


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


def _failure(name: str = "stocks.cache_errors") -> logging.LogRecord:
    try:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
    except ConnectionError:
        return logging.LogRecord(
            name, logging.ERROR, __file__, 1, "Exception ignored", (), sys.exc_info()
        )


def test_once_per_interval__first_then_one_a_minute_with_a_count():
    clock = [1000.0]
    keep = OncePerInterval(seconds=60)
    keep.clock = lambda: clock[0]
    first = _failure()
    assert keep.filter(first)
    assert first.exc_info is None
    assert first.getMessage() == (
        "Exception ignored: ConnectionError: Error 111 connecting to 127.0.0.1:1. "
        "Connection refused."
    )
    kept = []
    for _ in range(999):
        clock[0] += 0.05
        record = _failure()
        if keep.filter(record):
            kept.append(record)
    assert kept == []  # 999 failures in 50 s: none logged
    clock[0] += 11
    later = _failure()
    assert keep.filter(later)
    assert later.getMessage().endswith("(999 more since the last report)")


def test_cache_errors_logger_is_rate_limited_when_redis_is_configured():
    """The settings wire django-redis's ignored errors to the rate-limited logger."""
    import subprocess

    from .test_settings import ROOT

    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DJANGO_REDIS_LOGGER, s.LOGGING['loggers'][s.DJANGO_REDIS_LOGGER]['filters'], "
        "s.CACHES['default']['OPTIONS']['SOCKET_TIMEOUT'])"
    )
    env = {**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "stockscanner_django.settings",
           "REDIS_URL": "redis://127.0.0.1:6379/0"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["stocks.cache_errors", "['once_a_minute']", "0.5"]


@pytest.mark.django_db
@pytest.mark.services
def test_redis_down__one_warning_for_many_requests(api, redis_down, caplog, settings):
    """README ("If Redis fails"): the outage is one warning, not one (or three) per request."""
    caplog.set_level(logging.INFO)
    settings.RATE_LIMITS_ENABLED = True
    for _ in range(20):
        assert api.get("/api/stocks/?price_min=1").status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("rate-limit counters unavailable")
