"""
One provider request, made the way every provider request is made:

1. the endpoint's circuit breaker is asked first (``breaker``): open, nothing is sent;
2. a token is taken from the provider's shared bucket (``rate_limit``), waiting for it if
   the plan's rate says so;
3. the request is tried up to ``PROVIDER_MAX_ATTEMPTS`` times while it fails in a way worth
   retrying (``ProviderUnavailable``: no connection, a timeout, 429, 5xx, a body cut short).
   Between tries: the ``Retry-After`` the provider asked for (plus up to 10 % jitter, so
   workers told the same do not come back together), else an exponential backoff with
   jitter, ``PROVIDER_BACKOFF_SECONDS`` doubling up to ``PROVIDER_BACKOFF_MAX_SECONDS``, each
   wait drawn between half and all of it. A ``Retry-After`` longer than
   ``PROVIDER_BACKOFF_MAX_SECONDS`` is not slept here: the error goes up with it, and the
   Celery task retries that much later. Every try takes its own token.
4. the outcome goes to the breaker: a success closes it, a failure after the last try
   counts towards opening it. ``ProviderRefused`` (401, 403) is not retried but counts:
   a revoked key must not be hammered every few minutes either.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from .. import metrics
from . import rate_limit
from .base import CircuitOpen, ProviderRefused, ProviderUnavailable
from .breaker import CircuitBreaker

logger = logging.getLogger("stocks.providers")

T = TypeVar("T")
RETRY_AFTER_JITTER = 0.1


def backoff_seconds(attempt: int, *, rng: random.Random | None = None) -> float:
    """The wait after failed try number ``attempt`` (1-based): equal jitter, capped."""
    ceiling = min(
        settings.PROVIDER_BACKOFF_MAX_SECONDS,
        settings.PROVIDER_BACKOFF_SECONDS * 2 ** (attempt - 1),
    )
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def wait_before_retry(attempt: int, exc: ProviderUnavailable) -> float | None:
    """Seconds to wait before trying again, or None when not to try again here."""
    if attempt >= settings.PROVIDER_MAX_ATTEMPTS:
        return None
    if exc.retry_after is not None:
        if exc.retry_after > settings.PROVIDER_BACKOFF_MAX_SECONDS:
            return None  # longer than a worker should sleep: the task retries later
        return exc.retry_after * (1 + random.uniform(0, RETRY_AFTER_JITTER))
    return backoff_seconds(attempt)


def call(provider: str, request: Callable[[], T], *, endpoint: str, what: str) -> T:
    """``request()`` under the endpoint's breaker, the provider's rate and retries."""
    breaker = CircuitBreaker(provider, endpoint)
    count = functools.partial(metrics.PROVIDER_REQUESTS.inc, provider=provider, endpoint=endpoint)
    try:
        breaker.before_call()
    except CircuitOpen:
        count(outcome="circuit_open")
        raise
    attempt = 0
    try:
        while True:
            attempt += 1
            # Refused tokens are not the provider's failure: they go up without counting.
            rate_limit.acquire(provider, max_wait=settings.PROVIDER_RATE_WAIT_MAX_SECONDS)
            try:
                result = request()
            except ProviderUnavailable as exc:
                count(outcome="unavailable")
                wait = wait_before_retry(attempt, exc)
                if wait is None:
                    breaker.record_failure(exc)
                    raise
                logger.info(
                    "%s %s: try %d failed (%s), again in %.1fs", provider, what, attempt, exc, wait
                )
                _sleep(wait)
                continue
            except SoftTimeLimitExceeded:
                raise  # our own time limit, not the provider's failure
            except Exception as exc:  # refused, or an answer that could not be read
                count(outcome="refused" if isinstance(exc, ProviderRefused) else "invalid")
                breaker.record_failure(exc)
                raise
            count(outcome="ok")
            breaker.record_success()
            return result
    finally:
        breaker.release_trial()  # a trial left without an outcome (no-op once recorded)


def _sleep(seconds: float) -> None:  # a seam for the tests
    time.sleep(seconds)
