"""The provider's token bucket: one rate for every worker together."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from stocks.providers import calls, rate_limit
from stocks.providers.rate_limit import Rate, RateLimited

SIXTY_A_MINUTE = Rate(per_minute=60, burst=1)


def test_burst_then_one_token_per_interval(any_cache):
    rate = Rate(per_minute=60, burst=3)
    waits = [rate_limit.reserve("massive", max_wait=60, rate=rate) for _ in range(5)]
    assert waits[:3] == [0, 0, 0]
    # The fourth waits about a second, the fifth about two: reserved in order.
    assert 0.9 <= waits[3] <= 1.0 and 1.9 <= waits[4] <= 2.0


def test_a_wait_over_the_limit_reserves_nothing(any_cache):
    assert rate_limit.reserve("massive", max_wait=5, rate=SIXTY_A_MINUTE) == 0
    with pytest.raises(RateLimited) as raised:
        rate_limit.reserve("massive", max_wait=0.5, rate=SIXTY_A_MINUTE)
    assert 0.9 <= raised.value.retry_after <= 1.0
    # Refused callers took nothing: the next one still waits only one interval.
    assert rate_limit.reserve("massive", max_wait=5, rate=SIXTY_A_MINUTE) <= 1.0


def test_tokens_come_back_with_time(any_cache):
    rate = Rate(per_minute=600, burst=1)  # one every 0.1 s
    assert rate_limit.reserve("massive", max_wait=1, rate=rate) == 0
    time.sleep(0.15)
    assert rate_limit.reserve("massive", max_wait=1, rate=rate) == 0


def test_zero_means_no_limit(any_cache):
    rate = Rate(per_minute=0, burst=1)
    assert [rate_limit.reserve("massive", max_wait=0, rate=rate) for _ in range(50)] == [0] * 50


def test_calls_take_a_token_per_try(settings, slept, any_cache):
    """Every try, retries included, is a request the plan counts."""
    from stocks.providers.base import ProviderUnavailable

    settings.PROVIDER_REQUESTS_PER_MINUTE = 60
    settings.PROVIDER_BURST = 1
    settings.PROVIDER_MAX_ATTEMPTS = 3
    settings.PROVIDER_BACKOFF_SECONDS = 0.001
    tries = []

    def flaky():
        tries.append(1)
        if len(tries) < 3:
            raise ProviderUnavailable("HTTP 503")
        return "ok"

    assert calls.call("massive", flaky, endpoint="quotes", what="snapshot") == "ok"
    token_waits = [w for w in slept if w > 0.5]  # the backoffs are a millisecond or two
    assert len(token_waits) == 2  # the 2nd and 3rd tries each waited for their token


@pytest.mark.services
def test_shared_by_every_process_through_redis(settings, redis_url, tmp_path):
    """
    Two processes (two workers) draw from one bucket: together they get the plan's rate,
    not twice it. Each takes tokens as fast as it may for 3 s at 120 a minute (2 a second)
    with a burst of 1: about 6 for both, where separate buckets would give about 12.
    """
    from tests.support.redis import redis_cache_settings

    caches = redis_cache_settings(redis_url)
    script = f"""
import django, os, sys, time
os.environ["DJANGO_SETTINGS_MODULE"] = "stockscanner_django.test_settings"
django.setup()
from django.conf import settings
settings.CACHES = {caches!r}
from stocks.providers import rate_limit
rate = rate_limit.Rate(per_minute=120, burst=1)
end = time.monotonic() + 3
taken = 0
while time.monotonic() < end:
    try:
        rate_limit.acquire("shared-test", max_wait=end - time.monotonic(), rate=rate)
    except rate_limit.RateLimited:
        break
    taken += 1
print(taken)
"""
    workers = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    taken = [int(worker.communicate(timeout=60)[0].strip()) for worker in workers]
    assert 5 <= sum(taken) <= 8, taken
    assert min(taken) >= 1, taken  # neither is starved


def test_redis_failure__the_process_keeps_its_own_bucket(redis_down, caplog):
    assert rate_limit.reserve("massive", max_wait=5, rate=SIXTY_A_MINUTE) == 0
    assert 0.9 <= rate_limit.reserve("massive", max_wait=5, rate=SIXTY_A_MINUTE) <= 1.0
