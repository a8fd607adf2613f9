"""
What an operator wants to know at a glance (``manage.py system_status``): versions,
configuration, data in the database, its freshness, pending migrations, Celery workers and
the provider's breakers. The workers and the provider are the health checks' own answers;
migrations and freshness read what those checks read, on the ``using`` database.

``system_status`` never raises for an unavailable dependency: it reports it. The report
says "down" when the database is unreachable, "attention" when something needs a look
(pending migrations, stale data, no Celery worker while tasks are not run inline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone

from ..db_introspection import describe_error, pending_migrations, table_stats
from ..market_calendar import stale_threshold
from ..models import Stock
from .base import OK
from .registry import CHECKS
from .report import versions

OK_STATUS, ATTENTION, DOWN = "ok", "attention", "down"


@dataclass
class StatusReport:
    versions: dict[str, str]
    configuration: dict[str, Any]
    database: dict[str, Any] = field(default_factory=dict)
    freshness: dict[str, Any] = field(default_factory=dict)
    migrations: dict[str, Any] = field(default_factory=dict)
    workers: dict[str, Any] = field(default_factory=dict)
    provider: dict[str, Any] = field(default_factory=dict)
    attention: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if not self.database.get("reachable"):
            return DOWN
        return ATTENTION if self.attention else OK_STATUS

    @property
    def exit_code(self) -> int:
        return {OK_STATUS: 0, ATTENTION: 1, DOWN: 2}[self.status]

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "attention": self.attention,
            "versions": self.versions,
            "configuration": self.configuration,
            "database": self.database,
            "freshness": self.freshness,
            "migrations": self.migrations,
            "workers": self.workers,
            "provider": self.provider,
        }


def system_status(*, using: str = DEFAULT_DB_ALIAS) -> StatusReport:
    report = StatusReport(versions=versions(), configuration=configuration(using=using))
    report.workers = workers()
    if report.workers["status"] != OK:
        report.attention.append(f"Celery workers: {report.workers['message']}")
    provider = CHECKS["provider"].run()
    report.provider = {
        "name": settings.MARKET_DATA_PROVIDER,
        "endpoints": provider.details.get("endpoints", {}),
    }
    if provider.status != OK:
        report.attention.append(f"market data provider: {provider.message}")

    try:
        connections[using].ensure_connection()
    except DatabaseError as exc:
        report.database = {"reachable": False, "error": describe_error(exc)}
        report.attention.append(f"database unreachable: {report.database['error']}")
        return report
    report.database = {"reachable": True}

    try:
        report.database["tables"] = table_stats(using)
    except DatabaseError as exc:
        report.database["error"] = describe_error(exc)
        report.attention.append(f"cannot count rows: {report.database['error']}")

    try:
        pending = pending_migrations(using)
    except DatabaseError as exc:
        report.migrations = {"error": describe_error(exc)}
        report.attention.append(f"cannot read migration state: {report.migrations['error']}")
    else:
        report.migrations = {"pending": pending}
        if pending:
            report.attention.append(f"{len(pending)} migration(s) not applied")

    try:
        report.freshness = freshness(using=using, now=timezone.now())
    except DatabaseError as exc:
        report.freshness = {"error": describe_error(exc)}
        report.attention.append(f"cannot read quotes: {report.freshness['error']}")
    else:
        stale, active = report.freshness["stale_stocks"], report.freshness["active_stocks"]
        if report.freshness["newest_quote"] is None:
            report.attention.append("no quotes stored")
        elif stale:
            report.attention.append(f"{stale} of {active} active stock(s) have stale quotes")
    return report


def configuration(*, using: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    """The settings that decide how this instance runs, with every password masked."""
    database = connections[using].settings_dict
    cache = settings.CACHES["default"]
    location = cache.get("LOCATION", "")
    locations = location if isinstance(location, list | tuple) else [location]
    return {
        "django_env": settings.DJANGO_ENV,
        "debug": settings.DEBUG,
        "database": {
            "vendor": connections[using].vendor,
            "name": str(database["NAME"]),
            "host": database.get("HOST") or "",
            "port": str(database.get("PORT") or ""),
            "user": database.get("USER") or "",
        },
        "cache": {
            "backend": cache["BACKEND"],
            "location": ", ".join(mask_url(str(item)) for item in locations if item),
        },
        "celery": {
            "broker_url": mask_url(settings.CELERY_BROKER_URL),
            "eager": settings.CELERY_TASK_ALWAYS_EAGER,
        },
    }


def mask_url(url: str) -> str:
    """
    ``redis://:secret@host:6379/0`` -> ``redis://:****@host:6379/0``: every URL of a list
    (django-redis takes a comma-separated LOCATION, Celery a ``;``-separated failover list),
    and ``password=`` query parameters (Redis sentinel URLs) too.
    """
    return "".join(
        part if part in _URL_SEPARATORS else _mask_one(part) for part in _URL_LIST.split(url)
    )


_URL_SEPARATORS = {",", ";"}
# A separator only where the next URL starts: "," and ";" may stand in a password.
_URL_LIST = re.compile(r"([,;])(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)")
_SECRET_PARAMETERS = {"password", "passwd", "pass", "sentinel_password"}


def _mask_one(url: str) -> str:
    try:
        parts = urlsplit(url)
        has_password = parts.password is not None
    except ValueError:  # not a URL we can take apart: show nothing of it
        return "****"
    query = parse_qsl(parts.query, keep_blank_values=True)
    secret_query = any(key.lower() in _SECRET_PARAMETERS for key, _value in query)
    if not (has_password or secret_query):
        return url  # untouched, not re-encoded
    if has_password:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username or ''}:****@{host}")
    if secret_query:
        masked = [(k, "****" if k.lower() in _SECRET_PARAMETERS else v) for k, v in query]
        parts = parts._replace(query=urlencode(masked, safe="*"))
    return urlunsplit(parts)


def freshness(*, using: str = DEFAULT_DB_ALIAS, now: datetime) -> dict[str, Any]:
    """The newest quote, and how many active stocks have a stale quote or none."""
    return Stock.objects.using(using).quote_freshness(stale_threshold(now))


def workers() -> dict[str, Any]:
    """The Celery workers that answer a ping (the health check's, with its short timeout)."""
    result = CHECKS["workers"].run()
    return {
        "eager": settings.CELERY_TASK_ALWAYS_EAGER,
        "status": result.status,
        "message": result.message,
        "seen": result.details.get("workers", []),
    }
