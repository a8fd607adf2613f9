"""The cache's Redis, for the few things that need Redis itself rather than the cache API."""

from __future__ import annotations

from django.conf import settings

REDIS_BACKEND = "django_redis.cache.RedisCache"


def available() -> bool:
    """The default cache is django-redis (shared by every process), not local memory."""
    return settings.CACHES["default"]["BACKEND"] == REDIS_BACKEND


def cache_client():
    """
    django-redis's client of the default cache (its ``encode`` writes values as the cache
    does), or None when the default cache is another backend: decided by the backend
    itself, so a script that must read and write the cache's own values never runs beside
    a local-memory cache.
    """
    from django.core.cache import caches
    from django_redis.cache import RedisCache

    backend = caches["default"]
    return backend.client if isinstance(backend, RedisCache) else None


def client():
    """The cache's redis-py client: its pool, credentials, TLS and breaker (redis_breaker)."""
    from django_redis import get_redis_connection

    return get_redis_connection("default")


_scripts: dict[str, tuple[str, object]] = {}  # source -> (cache LOCATION, registered script)


def script(source: str):
    """A Lua script registered on the cache's client (again when the cache settings change)."""
    location = settings.CACHES["default"]["LOCATION"]
    known = _scripts.get(source)
    if known is None or known[0] != location:
        known = _scripts[source] = (location, client().register_script(source))
    return known[1]
