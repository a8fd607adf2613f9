"""Redis for the tests: database 15 of the local server, set up as production sets it."""

from __future__ import annotations

import uuid

REDIS_TEST_URL = "redis://127.0.0.1:6379/15"
CLOSED_PORT_REDIS_URL = "redis://127.0.0.1:1/0"


def redis_cache_settings(url: str) -> dict:
    """CACHES as production sets them for REDIS_URL, under a key prefix of this test's own."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"test-caching-{uuid.uuid4().hex[:8]}",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
