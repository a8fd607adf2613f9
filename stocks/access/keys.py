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
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions

from ..cache_namespaces import cache_key
from .models import APIKey, Plan
from .origins import request_origin, valid_origins

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


# Hashed for an unknown prefix too, so the time taken does not tell which prefixes exist.
_NO_SUCH_KEY = APIKey.objects.key_generator.hash("00000000." + "0" * 32)


@sensitive_variables("key")
def verify(key: str) -> KeyRecord:
    """The record of a usable key, or InvalidKey saying why not."""
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidKey("Malformed API key: expected <8 characters>.<32 characters>.")
    record = _record(key[:8])
    hashed = _NO_SUCH_KEY if record is None else record.hashed_key
    if not APIKey.objects.key_generator.verify(key, hashed) or record is None:
        raise InvalidKey("Unknown API key.")
    if record.revoked:
        raise InvalidKey("This API key has been revoked.")
    if record.expired(timezone.now()):
        raise InvalidKey("This API key has expired.")
    return record


# --- the per-process memo -----------------------------------------------------------------
# Every memo below is stored only if no forget() ran while it was being read from the
# database (the generation is unchanged), so a revocation made in this process can never be
# undone by a read that started before it. While the database is unavailable, a memo read
# within OUTAGE_GRACE_SECONDS is used as it is: answers the response cache holds are still
# served to their keys.

_memo: OrderedDict[str, tuple[KeyRecord | None, float]] = OrderedDict()
_touched: OrderedDict[str, float] = OrderedDict()  # prefix -> when this process wrote last_used
_lock = threading.Lock()
_generation = 0
_MEMO_MAX = 10_000  # prefixes remembered, least recently used out (unknown ones too)


def _remember(memo: OrderedDict, prefix: str, value, generation: int) -> None:
    with _lock:
        if generation != _generation:
            return
        memo[prefix] = value
        memo.move_to_end(prefix)
        while len(memo) > _MEMO_MAX:
            memo.popitem(last=False)


def _record(prefix: str) -> KeyRecord | None:
    now = time.monotonic()
    found = _memo.get(prefix)
    if found is not None and now - found[1] < settings.API_KEY_CACHE_SECONDS:
        return found[0]
    generation = _generation
    try:
        key = APIKey.objects.select_related("plan").filter(prefix=prefix).first()
    except DatabaseError as exc:
        if not _usable_in_outage(found, now, exc):
            raise
        return found[0]  # the database is gone: what this process knew stands meanwhile
    record = None if key is None else KeyRecord.of(key)
    _remember(_memo, prefix, (record, now), generation)
    return record


# How old a remembered value may be and still stand in for the database while it is gone.
OUTAGE_GRACE_SECONDS = 600


def _usable_in_outage(known: tuple[Any, float] | None, now: float, exc: Exception) -> bool:
    """A remembered value stands in only for an outage (not a bug), and only a recent one."""
    from ..errors import is_outage

    return known is not None and now - known[1] < OUTAGE_GRACE_SECONDS and is_outage(exc)


def forget(prefix: str | None = None) -> None:
    """
    Drop remembered records: one key's, or all (a plan changed); and the keys' origins and
    the anonymous plan.
    """
    global _generation
    with _lock:
        _generation += 1
        if prefix is None:
            _memo.clear()
        else:
            _memo.pop(prefix, None)
        _singles.clear()


# Values read from the database as a whole (the anonymous plan, the keys' origins): each
# remembered API_KEY_CACHE_SECONDS, under the same generation rule as the records.
_singles: dict[str, tuple[Any, float]] = {}


def _remembered(name: str, load: Callable[[], Any]) -> Any:
    now = time.monotonic()
    known = _singles.get(name)
    if known is not None and now - known[1] < settings.API_KEY_CACHE_SECONDS:
        return known[0]
    generation = _generation
    try:
        value = load()
    except DatabaseError as exc:
        if not _usable_in_outage(known, now, exc):
            raise
        return known[0]  # the database is gone: what this process knew stands meanwhile
    with _lock:
        if generation == _generation:
            _singles[name] = (value, now)
    return value


ANONYMOUS_PLAN = "anonymous"


def anonymous_limits() -> Limits | None:
    """
    The ``anonymous`` plan's limits (remembered API_KEY_CACHE_SECONDS). Without that plan
    anonymous callers are not limited, and that is logged.
    """

    def load() -> Limits | None:
        plan = Plan.objects.filter(slug=ANONYMOUS_PLAN).first()
        if plan is None:
            logger.warning("no %r plan: anonymous callers are not limited", ANONYMOUS_PLAN)
        return None if plan is None else Limits.of(plan)

    return _remembered("anonymous", load)


def touch(record: KeyRecord) -> None:
    """
    Record that the key was used: at most once a minute per key across all processes,
    never a write per request. A failure to write is logged and the request goes on.
    """
    now = time.monotonic()
    if now - _touched.get(record.prefix, -1e9) < LAST_USED_EVERY.total_seconds():
        return
    _remember(_touched, record.prefix, now, _generation)
    claim = cache_key("access", "last-used", record.prefix)
    if not cache.add(claim, 1, timeout=int(LAST_USED_EVERY.total_seconds())):
        return  # another process wrote it this minute
    try:
        APIKey.objects.filter(pk=record.pk).update(last_used=timezone.now())
    except DatabaseError as exc:
        logger.warning("could not record the use of key %s: %s", record.prefix, exc)


# --- CORS: the origins of every usable key ------------------------------------------------


def key_origins() -> frozenset[str]:
    """
    Every origin some usable (not revoked, not expired) key is bound to, remembered
    API_KEY_CACHE_SECONDS. An entry that is not an origin (a row written around the model's
    validation) is skipped and logged, never an error.
    """

    def load() -> frozenset[str]:
        texts = (
            APIKey.objects.filter(revoked=False)
            .exclude(allowed_origins="")
            .exclude(expiry_date__lte=timezone.now())
            .values_list("allowed_origins", flat=True)
        )
        return frozenset(origin for text in texts for origin in valid_origins(text))

    return _remembered("origins", load)


def cors_allows(sender, request, **kwargs) -> bool:
    """
    django-cors-headers' ``check_request_enabled``: on the API's paths (CORS_URLS_REGEX)
    only, a browser page of an origin some usable key is bound to may call (the preflight
    carries no key, so it cannot be the key's own decision; the request itself is then
    checked against its key's origins).
    """
    if not re.match(settings.CORS_URLS_REGEX, request.path_info):
        return False
    origin = request_origin(request)
    if origin is None:
        return False
    try:
        return origin in key_origins()
    except DatabaseError:
        return False
