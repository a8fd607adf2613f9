"""
The cache's key namespaces: the one place that says which key prefixes the app uses.

Every cache key the app writes must start with one of these prefixes, so operators can
clear one kind of entry (``manage.py clear_cache --namespace search``) without touching
the rest. Build keys with ``cache_key()`` or start them with ``NAMESPACES[...]``; a key
outside every namespace is only ever removed by ``clear_cache --all``.

These are the app's own keys: the cache backend adds its ``KEY_PREFIX`` and version in
front of them (``stockscanner:1:stocks:data-version`` in Redis), and clearing accounts for
that.

Known keys:
- ``stocks:data-version`` (``stocks/data_version.py``): the version cached responses are
  keyed on. ``clear_cache`` never deletes it: while it exists it only moves forward, and
  when it is missing it is re-seeded from the clock, past every earlier version, so an
  answer cached under an old version can never become current again.
- ``stocks:data-version:ended:<version>`` (``stocks/data_version.py``): when that version was
  replaced, kept ``CURSOR_MAX_AGE_SECONDS``: a cursor made on it expires that long after.
  ``clear_cache`` keeps them too.
- ``<namespace>:response:<endpoint>:<data version>:<parameters hash>`` (``stocks/caching.py``):
  a rendered response (body, gzipped body, ETag), in ``stocks``, ``search``, ``history`` or
  ``market``; the same key plus ``:lock`` is held for a few seconds by the one request
  computing it. Clearing them is always safe: the next request renders again.
- ``provider:breaker:<provider>:<endpoint>:<part>`` (``stocks/providers/breaker.py``): the
  circuit breaker of a provider's quotes, bars or listings, shared by every worker.
  Clearing it closes the breaker.
- ``provider:bucket:<provider>`` (``stocks/providers/rate_limit.py``): the provider's request
  bucket. Clearing it refills the bucket.
- ``tasks:lock:<refresh>`` (``stocks/task_locks.py``): held by the one running refresh of a
  kind, renewed while it runs. Clearing it lets a second run of that kind start at once.
- ``tasks:takeovers:<refresh>:<task id>``: how often a task took its lock back after its
  worker died (kept for the visibility timeout).
- ``tasks:bars-asked:<provider>:<day or ticker>`` (``stocks/tasks.py``): a day's market-wide
  bars, or a stock's history, answered by the provider in the last 6 days. Clearing them
  makes the next daily-bars refresh ask again.
- ``metrics:<metric name>`` (``stocks/metrics.py``): a hash of a cluster-wide counter (provider
  requests, Celery task outcomes) by its labels. Clearing it resets the counter (Prometheus
  reads a reset as one).
- ``metrics:slow-queries`` (``stocks/slow_queries.py``): the most recent slow queries of every
  worker, newest first. Clearing it empties the list.
- ``alerts:sent:<signature hash>`` (``stocks/alerts.py``): an error of that signature was mailed
  to ADMINS less than ``ERROR_EMAIL_INTERVAL`` ago; ``alerts:suppressed:<signature hash>``: how
  many of it were not mailed since. Clearing them lets the next error of each be mailed.
- ``health:<uuid>``: the cache health check's probe, written and deleted within one check
  (10-second expiry), deliberately outside the namespaces.
"""

from __future__ import annotations

NAMESPACES: dict[str, str] = {
    "stocks": "stocks:",  # stock lists, details, the field catalog, the data version
    "search": "search:",  # ranked search answers
    "history": "history:",  # chart history (OHLCV bars)
    "market": "market:",  # sector summary, movers, other market aggregates
    "throttle": "throttle:",  # rate-limit counters
    "access": "access:",  # API keys: the minute each key's last_used was last written
    "provider": "provider:",  # market-data providers: circuit breakers, rate buckets
    "tasks": "tasks:",  # Celery refreshes: one-at-a-time locks
    "metrics": "metrics:",  # cluster-wide metric counters, the recent slow queries
    "alerts": "alerts:",  # error mail: which signatures were mailed, how many held back
}


class UnknownNamespace(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown cache namespace {name!r}; known: {', '.join(NAMESPACES)}")
        self.name = name


def cache_key(namespace: str, *parts: object) -> str:
    """``cache_key("search", "v3", "berkshire")`` -> ``"search:v3:berkshire"``."""
    if namespace not in NAMESPACES:
        raise UnknownNamespace(namespace)
    return NAMESPACES[namespace] + ":".join(str(part) for part in parts)


def namespace_of(key: str) -> str | None:
    """The namespace a key belongs to, or None when it is outside every namespace."""
    for name, prefix in NAMESPACES.items():
        if key.startswith(prefix):
            return name
    return None
