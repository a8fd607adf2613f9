"""
The exactness promise, end to end: a running multi-worker gunicorn and the real Redis.
200 concurrent requests with a key that has 100 requests left today: exactly 100 are
answered, 100 get 429. (DRF's stock throttle, a read-modify-write of a list, admits more.)
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..support.live import get, live_app

REQUESTS, LEFT, CLIENTS = 200, 100, 32

SETUP = """
from django.contrib.auth import get_user_model
from stocks.access.models import Plan
from stocks.services.api_keys import create_key
get_user_model().objects.create_user("racer")
Plan.objects.filter(slug="basic").update(requests_per_minute=10_000, requests_per_day={left})
print(create_key(username="racer", plan="basic", name="race").secret)
"""


@pytest.mark.services
def test_gunicorn_and_redis__exactly_the_units_left_are_admitted(redis_url, tmp_path):
    with live_app(
        tmp_path,
        setup=SETUP.format(left=LEFT),
        workers=3,
        REDIS_URL=redis_url,
        RATE_LIMITS_ENABLED="true",
        API_KEY_CACHE_SECONDS="60",
    ) as app:
        key = app.setup_output.strip().splitlines()[-1]
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = Counter(
                pool.map(
                    lambda _: get(app.port, "/api/market/sectors/", {"X-API-Key": key}),
                    range(REQUESTS),
                )
            )
        log = app.log()
    assert statuses == {200: LEFT, 429: REQUESTS - LEFT}, (statuses, log)
