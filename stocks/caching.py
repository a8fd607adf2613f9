"""
The versioned response cache: rendered bytes, their gzipped form and their ETag.

A view hands ``cached_response`` its endpoint, its normalised parameters and a ``render``
callable that queries, serialises and renders. On a hit the stored bytes are sent as they
are: no query, no serialisation, no compression. Keys carry the data version
(``stocks/data_version.py``), so a change to the data makes every entry stale at once and
nothing ever scans keys; stale entries just expire.

Concurrent misses on one key compute once: the first takes a short lock, the others wait
for its entry (bounded) and render themselves if it does not come. When the cache cannot
keep values (Redis down) every request renders, at once, without a lock or a wait.

Only the body is shared. The response object is built fresh for each request, so headers
added after this (request id, timing, rate limits) are the caller's own.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from datetime import time as clock_time
from decimal import Decimal
from enum import Enum
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import re_accepts_gzip
from django.utils.cache import patch_vary_headers
from redis.exceptions import RedisError

from . import data_version, metrics, shared_redis
from .cache_namespaces import cache_key

# Where django-redis logs the errors it ignores (settings.DJANGO_REDIS_LOGGER).
cache_errors = logging.getLogger("stocks.cache_errors")

CONTENT_TYPE = "application/json"  # what DRF's JSONRenderer answers

# GZipMiddleware's own threshold. A body this long is always stored gzipped too (even in
# the rare case gzip does not make it shorter), so the middleware, which skips shorter
# bodies and bodies that carry Content-Encoding, never has anything to compress on a hit.
MIN_GZIP_BYTES = 200
# Level 3, not zlib's 6: on a 26 KB list page it compresses in 0.26 ms instead of 0.54 ms
# for 7.0 KB instead of 6.3 KB. Every cache miss pays it (most screens are misses).
GZIP_LEVEL = 3


def compress_string(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


# The wait for another request's entry: first poll after 2 ms, doubling, at most 25 ms.
_FIRST_POLL_SECONDS = 0.002
_MAX_POLL_SECONDS = 0.025


# What a view's render answers: the body, or the body and headers describing it.
Rendered = bytes | tuple[bytes, dict[str, str]]


@dataclass(frozen=True)
class CachedBody:
    """What is stored (pickled): keep it loadable by the code of the previous deploy."""

    body: bytes
    gzipped: bytes | None
    etag: str
    # Headers that describe the body (not the caller), replayed on every hit.
    headers: tuple[tuple[str, str], ...] = ()


def params_key(params: Mapping[str, object]) -> str:
    """
    The parameters as a short hash, the same for the same request however it was spelled:
    keys sorted, None values dropped (so an absent parameter and an explicit None match),
    numbers by value (``Decimal("1.50")``, ``1.5``; ``Decimal("100")``, ``100``), booleans
    as ``true``/``false``, sequences in their order, sets sorted. Strings are taken as
    given: normalise case and whitespace before calling. Other types raise TypeError
    rather than risk two different requests sharing a key.
    """
    canonical = sorted(
        (str(name), _normal(value)) for name, value in params.items() if value is not None
    )
    text = json.dumps(canonical, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def cached_response(
    request: HttpRequest,
    *,
    namespace: str,
    endpoint: str,
    params: Mapping[str, object],
    render: Callable[[int | None], Rendered],
    timeout: int | None = None,
) -> HttpResponse:
    """
    The 200 response for ``endpoint`` with ``params``: from the cache, or from
    ``render(version)`` (stored for ``timeout`` seconds, default ``RESPONSE_CACHE_TIMEOUT``).
    ``render`` gets the data version it renders for (None: unknown, the cache is down) and
    answers the body, or the body and headers that describe it. Exceptions from ``render``
    propagate and nothing is stored: errors are never cached.
    """
    if not settings.RESPONSE_CACHE_ENABLED:
        _count(endpoint, BYPASS)
        rendered = render(data_version.current(fresh=True))
        return _respond(request, _entry(rendered, compress=_accepts_gzip(request)))
    hashed = params_key(params)
    remembered = data_version.current()
    if remembered is not None:
        entry = _local.get(_key(namespace, endpoint, remembered, hashed))
        if entry is not None:  # this process's own answer: no round trip at all
            _count(endpoint, HIT)
            return _respond(request, entry)
    # Whatever is read or rendered from here on is for the version the cache holds now.
    version = data_version.current(fresh=True)
    if version is None:  # the cache cannot keep values: no lock, no wait
        _count(endpoint, BYPASS)
        return _respond(request, _entry(render(None), compress=_accepts_gzip(request)))
    key = _key(namespace, endpoint, version, hashed)
    if timeout is None:
        timeout = settings.RESPONSE_CACHE_TIMEOUT
    entry = _local.get(key)
    result = HIT
    if entry is None:
        entry, lock = _lookup(key)
        if not isinstance(entry, CachedBody):
            result = MISS
            entry = _compute_once(key, lambda: render(version), timeout, lock)
        _local.put(key, entry, timeout)
    _count(endpoint, result)
    return _respond(request, entry)


HIT, MISS, BYPASS = "hit", "miss", "bypass"


def _count(endpoint: str, result: str) -> None:
    metrics.CACHE_LOOKUPS.labels(endpoint, result).inc()


def _key(namespace: str, endpoint: str, version: int, hashed_params: str) -> str:
    return cache_key(namespace, "response", endpoint, version, hashed_params)


class _LocalEntries:
    """
    The most recent answers of this process, in front of the shared cache: a hit then
    costs one round trip to the cache (the data version) instead of two and no unpickling.
    Keys carry the data version, so a data change retires these entries as it does the
    shared ones; each also expires with its timeout. Bounded by RESPONSE_CACHE_LOCAL_BYTES.
    """

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[CachedBody, float, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedBody | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found[1] <= time.monotonic():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: str, entry: CachedBody, timeout: int) -> None:
        size = len(entry.body) + len(entry.gzipped or b"")
        budget = settings.RESPONSE_CACHE_LOCAL_BYTES
        if size > budget // 8:  # a few huge answers must not flush all the others
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (entry, time.monotonic() + timeout, size)
            self._bytes += size
            while self._bytes > budget:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        self._bytes -= self._entries.pop(key)[2]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


_local = _LocalEntries()


def forget_local() -> None:
    """Drop this process's own copies (tests; the shared cache is ``clear_cache``'s)."""
    _local.clear()


@dataclass(frozen=True)
class _Lock:
    """
    A miss's single-flight lock (``<key>:lock``): the token that marks it as this
    request's, and whether this request holds it (None: not tried yet).
    """

    key: str
    token: str
    held: bool | None = None


# The entry if it is stored, else this request's lock on computing it, in one step (and,
# with Redis, one round trip instead of two). KEYS: entry, lock; ARGV: token, lock's
# lifetime in ms. Answers {entry or "", 1 if the lock was taken else 0}.
_LOOKUP_OR_LOCK = """
local stored = redis.call('GET', KEYS[1])
if stored then
  return {stored, 0}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'', 1}
end
return {'', 0}
"""


def _lookup(key: str) -> tuple[object, _Lock]:
    """
    The value stored under ``key`` (None: nothing) and the lock on computing it: with
    Redis, when nothing is stored, taken or not in the same step; else not tried yet.
    """
    lock = _Lock(key + ":lock", secrets.token_hex(8))
    client = shared_redis.cache_client()
    if client is not None:
        lifetime = max(1, int(settings.RESPONSE_CACHE_LOCK_SECONDS * 1000))
        try:
            stored, taken = shared_redis.script(_LOOKUP_OR_LOCK)(
                keys=[cache.make_key(key), cache.make_key(lock.key)],
                args=[client.encode(lock.token), lifetime],
            )
        except (RedisError, OSError) as exc:  # as the cache's own: what follows ignores it
            cache_errors.warning("response cache lookup failed: %s", exc)
        else:
            if stored:
                return client.decode(stored), lock
            return None, replace(lock, held=bool(taken))
    return cache.get(key), lock


def _compute_once(
    key: str, render: Callable[[], Rendered], timeout: int, lock: _Lock
) -> CachedBody:
    if lock.held is None:  # not tried by the lookup: take it now
        held = cache.add(lock.key, lock.token, timeout=settings.RESPONSE_CACHE_LOCK_SECONDS)
        lock = replace(lock, held=held)
    if not lock.held:
        entry = _wait_for(key, lock.key)
        if entry is not None:
            return entry
        # The holder failed, is too slow, or the cache is failing: render, as if uncached.
        entry = _entry(render())
        cache.set(key, entry, timeout)
        return entry
    try:
        entry = _entry(render())
    except BaseException:
        _release(lock.key, lock.token)
        raise
    _store_and_release(key, entry, timeout, lock.key, lock.token)
    return entry


# Store the entry, then release the lock if it is still ours (past RESPONSE_CACHE_LOCK_SECONDS
# it may be another request's): with Redis one script, so one round trip instead of three,
# and the check and the delete are one step. KEYS: entry, lock; ARGV: entry, timeout in ms
# (0: none), token, all as django-redis writes them.
_STORE_AND_RELEASE = """
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
if redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('DEL', KEYS[2])
end
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _store_and_release(key: str, entry: CachedBody, timeout: int | None, lock: str, token: str):
    client = shared_redis.cache_client()
    if client is None:
        cache.set(key, entry, timeout)
        _release(lock, token)
        return
    milliseconds = 0 if timeout is None else max(1, int(timeout * 1000))
    _script(
        _STORE_AND_RELEASE,
        keys=[cache.make_key(key), cache.make_key(lock)],
        args=[client.encode(entry), milliseconds, client.encode(token)],
    )


def _release(lock: str, token: str) -> None:
    """Delete ``lock`` if it still holds ``token``."""
    client = shared_redis.cache_client()
    if client is None:
        if cache.get(lock) == token:  # not atomic: at worst a third request renders again
            cache.delete(lock)
        return
    _script(_RELEASE, keys=[cache.make_key(lock)], args=[client.encode(token)])


def _script(source: str, *, keys: list, args: list) -> None:
    """Run a script on the cache's Redis; a failure is ignored, as the cache's own are."""
    try:
        shared_redis.script(source)(keys=keys, args=args)
    except (RedisError, OSError) as exc:  # as IGNORE_EXCEPTIONS: it fails no request
        # Nothing stored (the next request renders); the lock expires by itself. Logged
        # where the cache's own ignored errors go (one line a minute).
        cache_errors.warning("response cache store failed: %s", exc)


def _wait_for(key: str, lock: str) -> CachedBody | None:
    """The entry another request is computing, or None once its lock is gone or time is up."""
    deadline = time.monotonic() + settings.RESPONSE_CACHE_WAIT_SECONDS
    pause = _FIRST_POLL_SECONDS
    while True:
        # The lock before the entry: the holder stores, then releases.
        held = cache.get(lock) is not None
        entry = cache.get(key)
        if isinstance(entry, CachedBody):
            return entry
        remaining = deadline - time.monotonic()
        if not held or remaining <= 0:  # a lock we cannot see (cache down) is never waited on
            return None
        _sleep(min(pause, remaining))
        pause = min(pause * 2, _MAX_POLL_SECONDS)


def _sleep(seconds: float) -> None:  # a seam for the tests
    time.sleep(seconds)


def _entry(rendered: Rendered, *, compress: bool = True) -> CachedBody:
    # The ETag is weak (as GZipMiddleware makes it on the bodies it compresses) and names
    # the content, so it is the same for both encodings and If-None-Match matches either.
    body, headers = rendered if isinstance(rendered, tuple) else (rendered, {})
    etag = f'W/"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    # No random padding (GZipMiddleware's BREACH mitigation): one compressed body is
    # shared by every caller, and these bodies carry no secrets.
    gzipped = compress_string(body) if compress and len(body) >= MIN_GZIP_BYTES else None
    return CachedBody(body=body, gzipped=gzipped, etag=etag, headers=tuple(headers.items()))


def _respond(request: HttpRequest, entry: CachedBody) -> HttpResponse:
    gzip = entry.gzipped is not None and _accepts_gzip(request)
    response = HttpResponse(entry.gzipped if gzip else entry.body, content_type=CONTENT_TYPE)
    if gzip:
        response.headers["Content-Encoding"] = "gzip"  # GZipMiddleware leaves it alone
    if entry.gzipped is not None:
        patch_vary_headers(response, ("Accept-Encoding",))
    for name, value in entry.headers:
        response.headers[name] = value
    response.headers["ETag"] = entry.etag  # ConditionalGetMiddleware answers 304 on a match
    response.headers["Content-Length"] = str(len(response.content))
    return response


def _accepts_gzip(request: HttpRequest) -> bool:
    return bool(re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")))


def _normal(value: object) -> object:
    """A JSON-able canonical form of one parameter value."""
    if isinstance(value, Enum):
        value = value.value
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        return format(number.normalize(), "f")
    if isinstance(value, list | tuple):
        return [_normal(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((_normal(item) for item in value), key=json.dumps)
    if isinstance(value, datetime | date | clock_time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot use a {type(value).__name__} as a cache key parameter")
