"""
Clearing the cache by namespace (``stocks.cache_namespaces``), with counts.

Works on django-redis (SCAN through ``iter_keys``, which applies the cache's KEY_PREFIX and
version, then ``delete_many`` in batches) and on the local-memory cache. Clearing everything
deletes every key of this cache's prefix and version, never the whole Redis database: the
Celery broker may share it. The data version is always kept (see ``stocks.cache_namespaces``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache
from django_redis.client.default import glob_escape
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from .. import data_version
from ..cache_namespaces import NAMESPACES, UnknownNamespace, namespace_of
from ..caching import forget_local

# Which namespace a key's entry is counted under, or None to leave the key alone.
Chooser = Callable[[str], str | None]

KEPT_KEYS = frozenset({data_version.KEY})
OTHER = "other"  # with --all: keys outside every namespace
BATCH_SIZE = 500


class CacheUnavailable(Exception):
    """The cache cannot be reached, or does not support listing its keys."""


LOCMEM_WARNING = (
    "the local-memory cache lives inside each process: this cleared only this process's "
    "own entries, not those of the running server; restart the server to clear its cache, "
    "or set REDIS_URL for a cache the servers share"
)


@dataclass
class ClearResult:
    backend: str
    dry_run: bool
    removed: dict[str, int] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    warning: str | None = None

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    @property
    def exit_code(self) -> int:
        return 1 if self.warning else 0  # clearing either completes or raises

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "attention" if self.warning else "done",
            "backend": self.backend,
            "dry_run": self.dry_run,
            "removed": self.removed,
            "total": self.total,
            "kept": self.kept,
            "warning": self.warning,
        }


def clear_cache(
    *, namespaces: Sequence[str] | None, dry_run: bool = False, alias: str = "default"
) -> ClearResult:
    """
    Delete the keys of the given namespaces, or of every namespace and the keys outside
    them when ``namespaces`` is None. A dry run counts and deletes nothing. Counts are per
    namespace (``other`` for keys outside them).
    """
    for name in namespaces or ():
        if name not in NAMESPACES:
            raise UnknownNamespace(name)
    cache = caches[alias]
    result = ClearResult(backend=type(cache).__name__, dry_run=dry_run)
    selected = list(dict.fromkeys(namespaces)) if namespaces else [*NAMESPACES, OTHER]
    result.removed = dict.fromkeys(selected, 0)

    def wanted(key: str) -> str | None:
        name = namespace_of(key) or OTHER
        if name not in result.removed:
            return None
        if key in KEPT_KEYS:
            result.kept.append(key)
            return None
        if data_version.is_history(key):
            return None  # when each version ended: the cursors' clock, kept with the version
        return name

    if isinstance(cache, RedisCache):
        _clear_redis(cache, wanted, result)
    elif isinstance(cache, LocMemCache):
        _clear_locmem(cache, wanted, result)
        result.warning = LOCMEM_WARNING
    else:
        raise CacheUnavailable(
            f"{result.backend} cannot list its keys; only django-redis and the "
            "local-memory cache can be cleared by namespace"
        )
    # This process's own copies of answers too (the server's processes keep theirs until
    # they expire: README, "Response cache").
    forget_local()
    return result


def _clear_redis(cache: RedisCache, wanted: Chooser, result: ClearResult) -> None:
    # The client itself, not the cache: the cache's IGNORE_EXCEPTIONS would turn an
    # unreachable Redis into "0 keys removed".
    client = cache.client
    prefixes = (
        [NAMESPACES[name] for name in result.removed]
        if OTHER not in result.removed
        else [""]  # --all: one scan over every key of this prefix and version
    )
    try:
        for prefix in prefixes:
            for batch in _batches(client.iter_keys(glob_escape(prefix) + "*", itersize=1000)):
                chosen: dict[str, list[str]] = {}
                for key in batch:
                    name = wanted(key)
                    if name:
                        chosen.setdefault(name, []).append(key)
                for name, keys in chosen.items():
                    count = len(keys) if result.dry_run else client.delete_many(keys)
                    result.removed[name] += count
    except (RedisError, ConnectionInterrupted) as exc:
        raise CacheUnavailable(f"Redis unreachable: {type(exc).__name__}: {exc}") from exc


def _clear_locmem(cache: LocMemCache, wanted: Chooser, result: ClearResult) -> None:
    # LocMemCache keeps its entries in the private _cache/_expire_info dicts guarded by
    # _lock; there is no public way to list keys, so this relies on that private
    # structure (stable since Django 1.x) and holds the lock like the backend's own methods.
    stored_prefix = cache.make_key("")  # KEY_PREFIX and version, e.g. ":1:"
    with cache._lock:
        for stored in list(cache._cache):
            if not stored.startswith(stored_prefix):
                continue  # another version's entry
            name = wanted(stored[len(stored_prefix) :])
            if not name:
                continue
            expired = cache._has_expired(stored)
            if not result.dry_run:
                cache._delete(stored)
            if not expired:  # an expired entry is already gone for readers: not counted
                result.removed[name] += 1


def _batches(keys: Iterable[str], size: int = BATCH_SIZE) -> Iterable[list[str]]:
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
