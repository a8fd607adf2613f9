"""
One refresh of a kind at a time, across every worker and host: a lock in the shared cache.

The lock is a cache key added only if absent (atomic in Redis and in local memory) holding
the holder's random token, with a short expiry (``TASK_LOCK_SECONDS``) that a thread of
the holder renews every third of it while the task runs. So a worker killed mid-task
(``kill -9``, out of memory, a lost host) holds the lock at most that long, well before
the broker delivers its task again (``CELERY_VISIBILITY_TIMEOUT_SECONDS``), and a task that
finds the lock taken can skip: the holder is alive and doing the same work. Only the
holder's own token is ever released; a lock lost (Redis flushed, renewal failed for a whole
expiry) is logged. With the cache down the refresh runs unlocked (and says so).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache

from .cache_namespaces import cache_key

logger = logging.getLogger("stocks.tasks")


def lock_key(name: str) -> str:
    return cache_key("tasks", "lock", name)


class _Renewal(threading.Thread):
    def __init__(self, key: str, token: str, seconds: int) -> None:
        super().__init__(name=f"lock-{key}", daemon=True)
        self.key, self.token, self.seconds = key, token, seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.seconds / 3):
            if not (cache.get(self.key) == self.token and cache.touch(self.key, self.seconds)):
                logger.warning("lock %s could not be renewed; another run may start", self.key)


@contextlib.contextmanager
def single_run(name: str) -> Iterator[bool]:
    """
    ``with single_run("refresh-quotes") as mine:``: ``mine`` is True for the one caller
    holding the lock (renewed until the block ends), False when another run holds it.
    """
    key, token, seconds = lock_key(name), uuid.uuid4().hex, settings.TASK_LOCK_SECONDS
    added = cache.add(key, token, timeout=seconds)
    if added is None:
        # django-redis answers None, not False, for a call it ignored (Redis down): the
        # refresh runs unlocked, which the idempotent ingest makes safe, rather than not at all.
        logger.warning("cache unavailable: %s runs without its lock", name)
        yield True
        return
    if not added:
        yield False
        return
    renewal = _Renewal(key, token, seconds)
    renewal.start()
    try:
        yield True
    finally:
        renewal.stopped.set()
        if cache.get(key) == token:  # our own lock only: past its expiry it may be another's
            cache.delete(key)
