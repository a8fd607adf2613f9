"""
Which snapshot the engine screens on, and how it is built and shared.

A snapshot belongs to one data version (``stocks.data_version``). In the embedded default
it is built in-process the first time a screen needs it. In production (a shared cache
such as Redis) it is built once per version (by the refresh pipeline, or by the first
worker that needs it, under a lock) and shared through the cache as one binary blob
keyed by version, so N workers do not each read every stock from the database.

The request that first needs a version's snapshot loads it from the cache, or builds it
(the embedded default, or a worker first to a version the pipeline has not published);
requests arriving meanwhile in the same process, or in others while one holds the build
lock, are answered by the SQL screen rather than wait. No response mixes versions: a
snapshot answers only requests of its own version.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import pickle
import threading
import time

from django.conf import settings
from django.core.cache import cache

from .. import data_version, database_guard, metrics
from ..cache_namespaces import cache_key
from ..errors import is_outage
from . import engine

logger = logging.getLogger(__name__)

_held: engine.Snapshot | None = None
_building = threading.Lock()
# After a failed build, wait before trying again instead of failing on every request.
_failed: dict[str, float] = {}
RETRY_AFTER_FAILURE_SECONDS = 30


def _blob_key(version: int) -> str:
    return cache_key("stocks", "snapshot", version)


def enabled() -> bool:
    return settings.SCREEN_ENGINE == "numpy"


def held() -> engine.Snapshot | None:
    """The snapshot this process holds, whatever its version (for health and metrics)."""
    return _held


def current(version: int | None) -> engine.Snapshot | None:
    """The snapshot of ``version``, or None when the SQL screen must answer."""
    global _held
    if not enabled() or version is None:
        return None
    snapshot = _held
    if snapshot is not None and snapshot.version == version:
        return snapshot
    # One build per process at a time; concurrent requests meanwhile use SQL.
    if not _building.acquire(blocking=False):
        return None
    try:
        if _held is not None and _held.version == version:
            return _held
        if time.monotonic() - _failed.get("at", -1e9) < RETRY_AFTER_FAILURE_SECONDS and (
            _failed.get("version") == version
        ):
            return None
        shared = _shared(version)
        snapshot = shared or _build_and_share(version)
        if snapshot is not None:
            _held = snapshot
            metrics.record_snapshot(snapshot, built=shared is None)
            # The blob or the rows read, and the snapshot replaced. (Only then: a worker
            # waiting for another's build gets here on each request, and a trim takes ms.)
            give_back_freed_memory()
        return snapshot
    finally:
        _building.release()


def give_back_freed_memory() -> None:
    """
    Hand the heap freed by a snapshot load or build back to the system. Unpickling a
    shared snapshot holds its blob (26 MB at 100 000 stocks) beside the arrays it becomes,
    and a build holds every row it read; glibc keeps what they leave in the process's heap,
    where it counted as about 28 MB more RSS in every worker (measured: a load took RSS up
    66 MB, 38 MB after the trim). ``malloc_trim`` is glibc's; elsewhere this does nothing.
    """
    trim = _malloc_trim()
    if trim is None:
        return
    started = time.perf_counter()
    try:
        trim(0)
    except Exception:  # noqa: BLE001 - memory housekeeping must never fail a request
        logger.warning("malloc_trim failed", exc_info=True)
        return
    logger.debug("freed heap handed back in %.1f ms", (time.perf_counter() - started) * 1000)


@functools.cache
def _malloc_trim():
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def _shared(version: int) -> engine.Snapshot | None:
    if not settings.SCREEN_SNAPSHOT_SHARED:
        return None
    blob = cache.get(_blob_key(version))
    if blob is None:
        return None
    try:
        return pickle.loads(blob)
    except Exception:  # noqa: BLE001 - a blob from another release: rebuild instead
        logger.warning("screen snapshot %s in the cache is unreadable; rebuilding", version)
        return None


def _build_and_share(version: int) -> engine.Snapshot | None:
    lock = _blob_key(version) + ":lock"
    if settings.SCREEN_SNAPSHOT_SHARED and not cache.add(
        lock, 1, timeout=settings.SCREEN_SNAPSHOT_BUILD_LOCK_SECONDS
    ):
        return None  # another worker builds it; it will be in the cache shortly
    try:
        with database_guard.widened_for_reads(engine.BUILD_READ_SECONDS):
            snapshot = engine.build(version)
    except Exception as exc:
        if settings.SCREEN_SNAPSHOT_SHARED:
            cache.delete(lock)
        if is_outage(exc):
            raise  # the database is gone: the request fails as any read would (503)
        logger.exception("building the screen snapshot of data version %s failed", version)
        _failed.update(version=version, at=time.monotonic())
        return None
    if data_version.current(fresh=True) != version:
        # The data moved on while it was being read: the rows may be of the next version.
        # Neither kept nor shared; the SQL screen answers, the next version gets its own.
        if settings.SCREEN_SNAPSHOT_SHARED:
            cache.delete(lock)
        logger.info("screen snapshot of data version %s discarded: the data changed", version)
        return None
    snapshot.inherit_from(_held)  # the same stocks and names: their name order and words
    if settings.SCREEN_SNAPSHOT_SHARED:
        snapshot.prepare()  # the orderings and the word index, once for every process
        blob = pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL)
        cache.set(_blob_key(version), blob, timeout=settings.SCREEN_SNAPSHOT_TTL)
        cache.delete(lock)
    logger.info(
        "screen snapshot of data version %s: %s stocks, %.0f ms, %.1f MB",
        version,
        snapshot.size,
        snapshot.built_in * 1000,
        snapshot.nbytes / 1e6,
    )
    return snapshot


def publish() -> engine.Snapshot | None:
    """
    After an ingest: build the new version's snapshot now and share it, so no web worker
    has to read every stock. Only with a shared cache: otherwise the web process builds its
    own on first use, and a build here (a command, a worker) would be wasted.
    """
    if not settings.SCREEN_SNAPSHOT_SHARED:
        return None
    return current(data_version.current(fresh=True))


def forget() -> None:
    """Drop this process's snapshot (tests, and after a failed build)."""
    global _held
    _held = None
    _failed.clear()
