"""
One refresh of a kind at a time, across every worker and host: a lock in the shared cache.

The lock is a cache key added only if absent (atomic in Redis and in local memory) holding
its owner: the Celery task id of the run. It expires after ``TASK_LOCK_SECONDS`` unless a
thread of the holder renews it (every third of that) while the task runs. So:

- a second task of the same kind (two beat processes by mistake, a manual run during the
  scheduled one) finds the lock held by another id and is skipped: the holder is doing the
  same work;
- the same task delivered again because its worker died (``kill -9`` of the pool child
  makes Celery requeue it at once, ``task_reject_on_worker_lost``; a lost host, after the
  broker's visibility timeout) finds its own id and takes the lock over at once, at most
  ``MAX_TAKEOVERS`` times (a task that kills its worker every time is then given up);
- a lock whose holder died without a redelivery is gone ``TASK_LOCK_SECONDS`` later.

With Redis, renewal and release compare the owner and act in one step (a Lua script), so a
lock that expired and was taken by another run is never extended or deleted by the old
holder. With the cache down the refresh runs unlocked, which the idempotent ingest makes
safe, and says so.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache

from . import shared_redis
from .cache_namespaces import cache_key

logger = logging.getLogger("stocks.tasks")

# KEYS[1] the lock, ARGV[1] the owner, ARGV[2] milliseconds (0: delete). 1 if it was the owner's.
_OWNED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('DEL', KEYS[1])
"""


MAX_TAKEOVERS = 2


def lock_key(name: str) -> str:
    return cache_key("tasks", "lock", name)


def _count_takeover(name: str, owner: str) -> int:
    key = cache_key("tasks", "takeovers", name, owner)
    cache.add(key, 0, timeout=settings.CELERY_VISIBILITY_TIMEOUT_SECONDS)
    try:
        return cache.incr(key) or 1
    except ValueError:  # expired in between
        return 1


def _if_owner(key: str, owner: str, milliseconds: int) -> bool:
    """Renew (or, with 0, release) the lock if ``owner`` still holds it."""
    if shared_redis.available():
        try:
            # The stored value is the cache's pickled owner: compare in the same form.
            stored = cache.client.encode(owner)
            owned = shared_redis.script(_OWNED)
            return bool(owned(keys=[cache.make_key(key)], args=[stored, milliseconds]))
        except Exception:  # noqa: BLE001 - Redis down: the lock expires by itself
            return False
    if cache.get(key) != owner:  # local memory: one process, no other holder can interleave
        return False
    return cache.touch(key, milliseconds / 1000) if milliseconds else cache.delete(key)


class _Renewal(threading.Thread):
    def __init__(self, key: str, owner: str, seconds: int) -> None:
        super().__init__(name=f"lock-{key}", daemon=True)
        self.key, self.owner, self.seconds = key, owner, seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.seconds / 3):
            if not _if_owner(self.key, self.owner, self.seconds * 1000):
                logger.warning("lock %s could not be renewed; another run may start", self.key)


@contextlib.contextmanager
def single_run(name: str, owner: str | None = None) -> Iterator[bool]:
    """
    ``with single_run("refresh-quotes", task_id) as mine:``: ``mine`` is True for the one
    caller holding the lock (renewed until the block ends), False while another owner holds
    it. ``owner``: the task id (a redelivery of the same task takes its lock back).
    """
    key, seconds = lock_key(name), settings.TASK_LOCK_SECONDS
    owner = owner or uuid.uuid4().hex
    added = cache.add(key, owner, timeout=seconds)
    if added is None:
        # django-redis answers None, not False, for a call it ignored (Redis down).
        logger.warning("cache unavailable: %s runs without its lock", name)
        yield True
        return
    if not added:
        if cache.get(key) != owner:
            yield False
            return
        # A task that kills its worker every time (out of memory) is requeued without end:
        # it takes its lock back MAX_TAKEOVERS times, then it is given up.
        takeovers = _count_takeover(name, owner)
        if takeovers > MAX_TAKEOVERS:
            logger.error(
                "%s: task %s delivered again after its worker died %d times; given up",
                name, owner, takeovers,
            )  # fmt: skip
            yield False
            return
        logger.warning("%s: task %s delivered again; it takes its lock back", name, owner)
        cache.set(key, owner, timeout=seconds)
    renewal = _Renewal(key, owner, seconds)
    renewal.start()
    try:
        yield True
    finally:
        renewal.stopped.set()
        _if_owner(key, owner, 0)
