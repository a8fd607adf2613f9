"""
A circuit breaker per provider endpoint (quotes, bars, listings), its state in the cache so
every worker shares it.

- closed: calls go through; each call that fails (after its retries) adds one to a shared
  count of consecutive failures, and a success sets it back to zero;
- open: after ``PROVIDER_BREAKER_FAILURES`` consecutive failures, no call is made for
  ``PROVIDER_BREAKER_COOLDOWN_SECONDS``: refreshes are skipped, with one warning per
  opening for all the workers together;
- half-open: once the cool-down is over, one caller (the first to claim the trial, across
  every worker) makes one call; the others are still refused. Its success closes the
  breaker, its failure opens it again for another cool-down.

The cool-down is the expiry of a cache key, so it runs on the cache's clock, the same for
every host. The cache ignores Redis errors (``IGNORE_EXCEPTIONS``): with Redis down the
breaker reads as closed and calls go through (it protects the provider from us; it must
not stop refreshes because Redis is down).

Keys (namespace ``provider``): ``provider:breaker:<provider>:<endpoint>:failures`` (the count),
``:open`` (present while open; its value: when it reopens, ISO), ``:tripped`` (present from
opening until a success closes it: open or half-open), ``:trial`` (the caller holding the
half-open trial), ``:warned`` (the warning of this opening was logged).

Failures that arrive after it opened (other workers' calls in flight) change nothing: the
cool-down is not pushed out and nothing more is logged. A trial that ends without an answer
(a time limit, no token) releases the half-open state for the next caller.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from ..cache_namespaces import cache_key
from .base import CircuitOpen

logger = logging.getLogger("stocks.providers")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
STATES = (CLOSED, HALF_OPEN, OPEN)
# Each provider's three capabilities have a breaker each: a plan without one endpoint (a 403
# on the snapshot) must not stop the others.
ENDPOINTS = ("quotes", "bars", "listings")
# A trial that never reports back (its worker killed) frees the half-open state after this.
TRIAL_SECONDS = 600
# The tripped marker outlives any cool-down, but not for ever (a removed provider).
TRIPPED_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class BreakerState:
    provider: str
    endpoint: str
    state: str
    failures: int
    threshold: int
    cooldown_seconds: int
    reopens_at: str | None = None  # while open: when a trial call will be let through

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "endpoint": self.endpoint,
            "state": self.state,
            "consecutive_failures": self.failures,
            "threshold": self.threshold,
            "cooldown_seconds": self.cooldown_seconds,
            "reopens_at": self.reopens_at,
        }


class CircuitBreaker:
    """The breaker of one endpoint (quotes, bars or listings) of one provider."""

    def __init__(self, provider: str, endpoint: str) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}")
        self.provider, self.endpoint = provider, endpoint
        self.name = f"{provider} {endpoint}"
        self.threshold = settings.PROVIDER_BREAKER_FAILURES
        self.cooldown = settings.PROVIDER_BREAKER_COOLDOWN_SECONDS
        self._trial_token: str | None = None

    def _key(self, part: str) -> str:
        return cache_key("provider", "breaker", self.provider, self.endpoint, part)

    # --- the guard ----------------------------------------------------------------------

    def before_call(self) -> None:
        """Raise ``CircuitOpen`` unless a call may be made now."""
        values = cache.get_many([self._key("open"), self._key("tripped")])
        if self._key("open") in values:
            self._refuse(values[self._key("open")])
        if self._key("tripped") in values:
            token = uuid.uuid4().hex
            if not cache.add(self._key("trial"), token, timeout=TRIAL_SECONDS):
                self._refuse(None, half_open=True)
            self._trial_token = token
            logger.info("%s: circuit half-open, one trial call", self.name)

    def record_success(self) -> None:
        was_tripped = self._trial_token is not None or cache.get(self._key("tripped")) is not None
        self._trial_token = None
        self.reset()
        if was_tripped:
            logger.warning("%s: circuit closed, the provider answered again", self.name)

    def record_failure(self, exc: BaseException) -> None:
        trial, self._trial_token = self._trial_token, None
        cache.add(self._key("failures"), 0, timeout=None)
        try:
            failures = cache.incr(self._key("failures"))
        except ValueError:  # expired or cleared between the two calls
            failures = None
        if not isinstance(failures, int):
            return  # the cache ignored the call (Redis down)
        if trial is not None or failures >= self.threshold:
            self._open(failures, exc, trial=trial is not None)

    def release_trial(self) -> None:
        """The trial call ended without an answer either way (a time limit, no token)."""
        if self._trial_token is not None:
            self._trial_token = None
            cache.delete(self._key("trial"))

    def _open(self, failures: int, exc: BaseException, *, trial: bool) -> None:
        reopens = timezone.now() + timedelta(seconds=self.cooldown)
        # add: failures still arriving after it opened neither push the cool-down out nor
        # log again.
        if not cache.add(self._key("open"), reopens.isoformat(), timeout=self.cooldown):
            return
        cache.set(self._key("tripped"), 1, timeout=TRIPPED_SECONDS)
        cache.delete_many([self._key("trial"), self._key("warned")])
        logger.warning(
            "%s: circuit open after %s (%s: %s); no calls for %ds",
            self.name,
            "a failed trial call" if trial else f"{failures} consecutive failures",
            type(exc).__name__,
            exc,
            self.cooldown,
        )

    def _refuse(self, reopens_at: str | None, *, half_open: bool = False) -> None:
        if cache.add(self._key("warned"), 1, timeout=self.cooldown):
            logger.warning(
                "%s: circuit %s; refreshes are skipped%s",
                self.name,
                HALF_OPEN if half_open else OPEN,
                f" until {reopens_at}" if reopens_at else " while another worker tries",
            )
        raise CircuitOpen(
            f"{self.name}: circuit {HALF_OPEN if half_open else OPEN}"
            + (f" until {reopens_at}" if reopens_at else "")
        )

    # --- reading ------------------------------------------------------------------------

    def state(self) -> BreakerState:
        """Where the breaker stands, for health and status reports."""
        keys = [self._key(p) for p in ("failures", "open", "tripped")]
        values = cache.get_many(keys)
        failures = int(values.get(keys[0]) or 0)
        if keys[1] in values:
            state, reopens = OPEN, values[keys[1]]
        elif keys[2] in values:
            state, reopens = HALF_OPEN, None
        else:
            state, reopens = CLOSED, None
        return BreakerState(
            self.provider,
            self.endpoint,
            state,
            failures,
            self.threshold,
            self.cooldown,
            reopens_at=reopens,
        )

    def reset(self) -> None:
        cache.delete_many(
            [self._key(p) for p in ("failures", "open", "tripped", "trial", "warned")]
        )
