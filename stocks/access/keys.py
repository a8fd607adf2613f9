"""
API keys at request time: read from the request, verified, and remembered briefly.

A key is ``<prefix>.<secret>`` (8 + 32 letters and digits). Its record (hash, plan,
origins, expiry) is read from the database once per ``API_KEY_CACHE_SECONDS`` per
process and prefix, so a request with a key costs no query; a revocation, expiry or plan
change made in this process applies at once, one made elsewhere (``revoke_api_key``, the
admin of another worker) within that time. ``last_used`` is written at most once a minute
per key, by whichever process claims the minute in the shared cache.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone
from rest_framework import exceptions

from ..cache_namespaces import cache_key
from .models import APIKey, Plan
from .origins import parse_origins, request_origin

logger = logging.getLogger("stocks.access")

KEY_PATTERN = re.compile(r"[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}")
HEADER = "HTTP_X_API_KEY"  # X-API-Key
AUTHORIZATION_KEYWORD = "api-key"  # Authorization: Api-Key <key>
LAST_USED_EVERY = timedelta(minutes=1)


class InvalidKey(exceptions.AuthenticationFailed):
    """401: the key given is malformed, unknown, revoked or expired."""

    default_code = "invalid_api_key"


@dataclass(frozen=True)
class Limits:
    """A plan's numbers, detached from the ORM (cached per process with the key)."""

    slug: str
    name: str
    requests_per_minute: int
    requests_per_day: int
    realtime_per_second: int
    search_cost: int
    max_page_size: int
    max_page: int | None
    cursor_paging: bool

    @classmethod
    def of(cls, plan: Plan) -> Limits:
        return cls(**{name: getattr(plan, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class KeyRecord:
    """What a request needs to know about its key: never the key itself."""

    pk: str
    prefix: str
    hashed_key: str
    name: str
    user_id: int
    plan: Limits
    expiry_date: datetime | None
    revoked: bool
    origins: frozenset[str]
    publishable: bool
    last_used: datetime | None

    @classmethod
    def of(cls, key: APIKey) -> KeyRecord:
        return cls(
            pk=key.pk,
            prefix=key.prefix,
            hashed_key=key.hashed_key,
            name=key.name,
            user_id=key.user_id,
            plan=Limits.of(key.plan),
            expiry_date=key.expiry_date,
            revoked=key.revoked,
            origins=key.origins,
            publishable=key.publishable,
            last_used=key.last_used,
        )

    def expired(self, now: datetime) -> bool:
        return self.expiry_date is not None and self.expiry_date <= now


def key_from(request) -> str | None:
    """The key a request carries (``X-API-Key`` or ``Authorization: Api-Key``), or None."""
    key = request.META.get(HEADER)
    if key is None:
        keyword, _, rest = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if keyword.lower() != AUTHORIZATION_KEYWORD:
            return None
        key = rest
    return key.strip()


def verify(key: str) -> KeyRecord:
    """The record of a usable key, or InvalidKey saying why not."""
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidKey("Malformed API key: expected <8 characters>.<32 characters>.")
    record = _record(key[:8])
    if record is None or not APIKey.objects.key_generator.verify(key, record.hashed_key):
        raise InvalidKey("Unknown API key.")
    if record.revoked:
        raise InvalidKey("This API key has been revoked.")
    if record.expired(timezone.now()):
        raise InvalidKey("This API key has expired.")
    return record


# --- the per-process memo -----------------------------------------------------------------

_memo: dict[str, tuple[KeyRecord | None, float]] = {}
_touched: dict[str, float] = {}  # prefix -> monotonic time this process last wrote last_used
_lock = threading.Lock()
_MEMO_MAX = 10_000  # prefixes remembered (unknown ones too, so guessing costs no query)


def _record(prefix: str) -> KeyRecord | None:
    now = time.monotonic()
    found = _memo.get(prefix)
    if found is not None and now - found[1] < settings.API_KEY_CACHE_SECONDS:
        return found[0]
    key = APIKey.objects.select_related("plan").filter(prefix=prefix).first()
    record = None if key is None else KeyRecord.of(key)
    with _lock:
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        _memo[prefix] = (record, now)
    return record


def forget(prefix: str | None = None) -> None:
    """
    Drop remembered records: one key's, or all (a plan changed); and the keys' origins and
    the anonymous plan.
    """
    global _key_origins, _anonymous
    with _lock:
        if prefix is None:
            _memo.clear()
        else:
            _memo.pop(prefix, None)
        _key_origins = None
        _anonymous = None


ANONYMOUS_PLAN = "anonymous"
_anonymous: tuple[Limits | None, float] | None = None


def anonymous_limits() -> Limits | None:
    """
    The ``anonymous`` plan's limits (remembered API_KEY_CACHE_SECONDS). Without that plan
    anonymous callers are not limited, and that is logged.
    """
    global _anonymous
    now = time.monotonic()
    known = _anonymous
    if known is not None and now - known[1] < settings.API_KEY_CACHE_SECONDS:
        return known[0]
    plan = Plan.objects.filter(slug=ANONYMOUS_PLAN).first()
    if plan is None:
        logger.warning("no %r plan: anonymous callers are not limited", ANONYMOUS_PLAN)
    limits = None if plan is None else Limits.of(plan)
    _anonymous = (limits, now)
    return limits


def touch(record: KeyRecord) -> None:
    """
    Record that the key was used: at most once a minute per key across all processes,
    never a write per request. A failure to write is logged and the request goes on.
    """
    now = time.monotonic()
    if now - _touched.get(record.prefix, -1e9) < LAST_USED_EVERY.total_seconds():
        return
    if len(_touched) >= _MEMO_MAX:
        _touched.clear()
    _touched[record.prefix] = now
    claim = cache_key("access", "last-used", record.prefix)
    if not cache.add(claim, 1, timeout=int(LAST_USED_EVERY.total_seconds())):
        return  # another process wrote it this minute
    try:
        APIKey.objects.filter(pk=record.pk).update(last_used=timezone.now())
    except DatabaseError as exc:
        logger.warning("could not record the use of key %s: %s", record.prefix, exc)


# --- CORS: the origins of every usable key ------------------------------------------------

_key_origins: tuple[frozenset[str], float] | None = None


def key_origins() -> frozenset[str]:
    """Every origin some usable key is bound to (remembered API_KEY_CACHE_SECONDS)."""
    global _key_origins
    now = time.monotonic()
    known = _key_origins
    if known is not None and now - known[1] < settings.API_KEY_CACHE_SECONDS:
        return known[0]
    texts = (
        APIKey.objects.filter(revoked=False)
        .exclude(allowed_origins="")
        .values_list("allowed_origins", flat=True)
    )
    origins = frozenset(origin for text in texts for origin in parse_origins(text))
    _key_origins = (origins, now)
    return origins


def cors_allows(sender, request, **kwargs) -> bool:
    """
    django-cors-headers' ``check_request_enabled``: a browser page of an origin some key is
    bound to may call the API (the preflight carries no key, so it cannot be the key's own
    decision; the request itself is then checked against its key's origins).
    """
    origin = request_origin(request)
    if origin is None:
        return False
    try:
        return origin in key_origins()
    except DatabaseError:
        return False
