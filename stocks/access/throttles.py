"""
The limits of the public API (DRF throttling), per caller and plan.

A caller is its API key (``request.auth``) or, without one, its client subnet
(``clients.client_subnet``) on the ``anonymous`` plan. Every request counts against the
plan's minute and day windows; realtime quotes also against a per-second burst window;
a search costs more units as it gets more expensive (``search_units``). While the box is
overloaded (load average per core above ``ANON_OVERLOAD_LOAD_PER_CORE``) the anonymous
windows shrink by ``ANON_OVERLOAD_FACTOR``. The count is exact (``counters``), and the
outcome is kept on the request for the headers (``RateLimitHeadersMiddleware``), added per
caller after the response cache.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from ..screen.rows import timestamp
from . import counters, keys
from .clients import client_subnet
from .counters import Count, Window

MINUTE, DAY, SECOND = 60, 86_400, 1
_LOAD_TTL = 1.0  # seconds a load reading is reused


@dataclass(frozen=True)
class Caller:
    kind: str  # "key" or "anonymous"
    ident: str  # the key's prefix, or the subnet
    limits: keys.Limits | None  # None: no anonymous plan (unlimited, logged)


@dataclass(frozen=True)
class Outcome:
    caller: Caller
    windows: tuple[Window, ...]
    count: Count
    cost: int
    now: float


class RateLimited(exceptions.Throttled):
    default_code = "rate_limited"

    def __init__(self, scope: str, window: Window, wait: int) -> None:
        # Not Throttled.__init__: it would append its own "Expected available in ..." text.
        exceptions.APIException.__init__(
            self,
            f"Rate limit exceeded: {window.limit} units per {window.name} ({scope}). "
            f"Retry in {wait} s.",
        )
        self.wait = wait  # Retry-After (DRF's handler) and details.retry_after (ours)
        # The error body's details (stocks.errors), with retry_after.
        self.error_details = {"scope": scope, "window": window.name, "limit": window.limit}


def _store(request, outcome: Outcome | None) -> None:
    """Keep the outcome on Django's request, where RateLimitHeadersMiddleware finds it."""
    getattr(request, "_request", request).rate_limit = outcome


def _refuse(caller: Caller, count: Count, now: float) -> RateLimited:
    window = count.refused_by
    scope = f"{caller.kind} {caller.ident}"
    return RateLimited(scope, window, wait=max(1, math.ceil(window.resets_at(now) - now)))


def _charge(request, caller: Caller, windows: list[Window], cost: int) -> Outcome | None:
    """Count ``cost`` against ``windows``; the outcome (None: not counted, let through)."""
    if not windows:
        return None
    # More than a window holds could never pass: charge it all, once.
    cost = min(cost, *(window.limit for window in windows))
    now = time.time()
    count = counters.hit(windows, cost, now=now)
    if not count.counted:  # the counters are unreachable: no numbers to show
        return None
    outcome = Outcome(caller, tuple(windows), count, cost, now)
    _store(request, outcome)
    if not count.allowed:
        raise _refuse(caller, count, now)
    return outcome


def charge_refused_credentials(request) -> None:
    """
    A request whose key was refused (401/403) still costs its subnet one anonymous unit, so
    guessing keys is limited like any anonymous use (429 once the subnet's window is spent).
    """
    if settings.RATE_LIMITS_ENABLED:
        caller = Caller("anonymous", client_subnet(request), keys.anonymous_limits())
        _charge(request, caller, windows_for(caller), 1)


def plan_of(request) -> keys.Limits | None:
    """The caller's plan, for what it may ask (page size, depth, cursors); None: no limits."""
    if not settings.RATE_LIMITS_ENABLED:
        return None
    counted = getattr(getattr(request, "_request", request), "rate_limit", None)
    return counted.caller.limits if counted is not None else caller_of(request).limits


# Set in the WSGI environ by the app's own in-process requests (cache warming): a key no HTTP
# client can send (servers only make HTTP_* keys from headers). Such a caller has no limits.
INTERNAL = "stockscanner.internal"


def caller_of(request) -> Caller:
    if request.META.get(INTERNAL):
        return Caller("internal", request.META[INTERNAL], None)
    record = getattr(request, "auth", None)
    if isinstance(record, keys.KeyRecord):
        return Caller("key", record.prefix, record.plan)
    return Caller("anonymous", client_subnet(request), keys.anonymous_limits())


def windows_for(caller: Caller, *, realtime: bool = False) -> list[Window]:
    limits = caller.limits
    if limits is None:
        return []
    factor = overload_factor() if caller.kind == "anonymous" else 1.0
    base = f"throttle:{caller.kind}:{caller.ident}"
    found = [
        Window("minute", MINUTE, _shrunk(limits.requests_per_minute, factor), f"{base}:all"),
        Window("day", DAY, _shrunk(limits.requests_per_day, factor), f"{base}:all"),
    ]
    if realtime:
        found.append(
            Window("second", SECOND, _shrunk(limits.realtime_per_second, factor), f"{base}:rt")
        )
    return found


def _shrunk(limit: int, factor: float) -> int:
    return max(1, math.floor(limit * factor))


def search_units(query: str) -> int:
    """
    Units one search costs before the plan's ``search_cost`` multiplies them: 1, plus 1
    per word after the first, plus 1 per 16 characters, plus 1 when a word is long enough
    (5+ letters) for the fuzzy tier to run over every name.
    """
    words = query.split()
    fuzzy = any(len(word) >= 5 for word in words)
    return 1 + max(len(words) - 1, 0) + len(query) // 16 + int(fuzzy)


_load: tuple[float, float] = (0.0, -1e9)  # (load per core, when read)


def load_per_core() -> float:
    global _load
    now = time.monotonic()
    if now - _load[1] >= _LOAD_TTL:
        _load = (os.getloadavg()[0] / (os.cpu_count() or 1), now)
    return _load[0]


def overload_factor() -> float:
    if load_per_core() > settings.ANON_OVERLOAD_LOAD_PER_CORE:
        return settings.ANON_OVERLOAD_FACTOR
    return 1.0


class PlanThrottle(BaseThrottle):
    """
    The one throttle of the public API. ``realtime`` views add the burst window; views
    that define ``throttle_cost(request)`` (search) charge more than one unit.
    """

    def allow_request(self, request, view) -> bool:
        if not settings.RATE_LIMITS_ENABLED:
            return True
        caller = caller_of(request)
        windows = windows_for(caller, realtime=getattr(view, "realtime", False))
        cost_of = getattr(view, "throttle_cost", None)
        _charge(request, caller, windows, cost_of(request, caller) if cost_of else 1)
        return True


class UsageThrottle(BaseThrottle):
    """
    /api/account/usage/ takes nothing from the quota it reports, but is not free for the
    taking either: a minute window of its own, as large as the plan's.
    """

    def allow_request(self, request, view) -> bool:
        if not settings.RATE_LIMITS_ENABLED:
            return True
        caller = caller_of(request)
        if caller.limits is None:
            return True
        window = Window(
            "minute",
            MINUTE,
            caller.limits.requests_per_minute,
            f"throttle:{caller.kind}:{caller.ident}:usage",
        )
        now = time.time()
        count = counters.hit([window], 1, now=now)
        if count.counted and not count.allowed:
            raise _refuse(caller, count, now)
        return True


def headers(outcome: Outcome) -> dict[str, str]:
    """X-RateLimit-* of the tightest window, and the IETF draft's RateLimit(-Policy)."""
    now = outcome.now
    windows, count = outcome.windows, outcome.count
    remaining = [max(w.limit - used, 0) for w, used in zip(windows, count.used, strict=True)]
    tightest = min(range(len(windows)), key=lambda i: (remaining[i], windows[i].seconds))
    if count.refused_by is not None:
        tightest = windows.index(count.refused_by)
        remaining[tightest] = max(count.refused_by.limit - count.used[tightest], 0)
    window = windows[tightest]
    reset_in = max(0, math.ceil(window.resets_at(now) - now))
    return {
        "X-RateLimit-Limit": str(window.limit),
        "X-RateLimit-Remaining": str(remaining[tightest]),
        "X-RateLimit-Reset": str(window.resets_at(now)),
        "RateLimit-Policy": ", ".join(f'"{w.name}";q={w.limit};w={w.seconds}' for w in windows),
        "RateLimit": f'"{window.name}";r={remaining[tightest]};t={reset_in}',
    }


class RateLimitHeadersMiddleware:
    """
    The caller's limit headers on the final response of a counted request: 200s, 429s,
    refused keys' 401/403, and the 304 ConditionalGetMiddleware makes of a 200 (it keeps
    only a few headers of the original, so this sits above it). Never part of a cached body.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        outcome = getattr(request, "rate_limit", None)
        if outcome is not None:
            for name, value in headers(outcome).items():
                response[name] = value
        return response


def usage(request) -> dict:
    """What ``/api/account/usage/`` answers: the caller's windows, counted, not charged."""
    caller = caller_of(request)
    windows = windows_for(caller, realtime=True)
    now = time.time()
    count = counters.peek(windows, now=now) if windows else None
    limits = caller.limits
    return {
        "plan": None
        if limits is None
        else {"slug": limits.slug, "name": limits.name, "search_cost": limits.search_cost},
        "caller": {"type": "key", "key": caller.ident}
        if caller.kind == "key"
        else {"type": "anonymous", "subnet": caller.ident},
        "windows": [
            {
                "name": window.name,
                "seconds": window.seconds,
                "scope": "realtime" if window.name == "second" else "all",
                "limit": window.limit,
                "used": used,
                "remaining": max(window.limit - used, 0),
                "resets_at": timestamp(datetime.fromtimestamp(window.resets_at(now), UTC)),
            }
            for window, used in zip(windows, count.used if count else (), strict=False)
        ],
    }
