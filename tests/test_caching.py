"""The versioned response cache (stocks/caching.py) and the data version it is keyed on."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from unittest.mock import patch

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from stocks import caching, data_version
from stocks.cache_namespaces import cache_key
from stocks.caching import CachedBody, cached_response, params_key
from stocks.services.cache_maintenance import clear_cache

from .caching_site import urls as caching_site
from .support.redis import redis_cache_settings

BIG = json.dumps({"results": [{"ticker": f"T{i:03}", "close": i} for i in range(50)]}).encode()
SMALL = b'{"results":[]}'
PARAMS = {"sort": "ticker", "page_size": 50}

factory = RequestFactory()


class Render:
    """A render function that counts its calls (and can block or fail)."""

    def __init__(self, body: bytes = BIG, *, before=None, error: Exception | None = None):
        self.body, self.before, self.error = body, before, error
        self.calls = 0
        self.versions: list[int | None] = []
        self._lock = threading.Lock()

    def __call__(self, version: int | None = None) -> bytes:
        self.versions.append(version)
        if self.before:
            self.before()
        with self._lock:
            self.calls += 1
        if self.error:
            raise self.error
        return self.body


class Recording:
    """A stand-in for the cache that records every call (and forwards it)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return method(*args, **kwargs)

        return call


def forbid_gzip(monkeypatch) -> None:
    """From now on, fail the test if anything compresses (this module or GZipMiddleware)."""

    def refuse(*args, **kwargs):
        raise AssertionError("compressed on a cache hit")

    monkeypatch.setattr(caching, "compress_string", refuse)
    monkeypatch.setattr("django.middleware.gzip.compress_string", refuse)


def get(accept: str = "", **headers) -> object:
    return factory.get("/api/stocks/", HTTP_ACCEPT_ENCODING=accept, **headers)


def respond(render, *, accept: str = "", params=PARAMS, **kwargs):
    return cached_response(
        get(accept), namespace="stocks", endpoint="list", params=params, render=render, **kwargs
    )


def current_key(params=PARAMS) -> str:
    return cache_key("stocks", "response", "list", data_version.current(), params_key(params))


# ---------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------


@pytest.fixture
def no_wait(monkeypatch):
    """Fail the test if a request waits for another's entry."""

    def refuse(seconds):
        raise AssertionError("waited on a lock")

    monkeypatch.setattr(caching, "_sleep", refuse)


# ---------------------------------------------------------------------------------------
# hits and misses
# ---------------------------------------------------------------------------------------


def test_cached_response__miss_renders_once_and_stores():
    """A miss renders once and stores body, gzipped body and ETag under the versioned key."""
    render = Render()
    response = respond(render)
    assert render.calls == 1
    assert (response.status_code, response.content, response["Content-Type"]) == (
        200,
        BIG,
        "application/json",
    )
    stored = cache.get(current_key())
    assert isinstance(stored, CachedBody)
    assert stored.body == BIG
    assert gzip.decompress(stored.gzipped) == BIG
    assert stored.etag == response["ETag"]


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["", "gzip, deflate, br"])
def test_cached_response__hit_renders_nothing_compresses_nothing_queries_nothing(
    accept, django_assert_num_queries, monkeypatch
):
    """A hit sends the stored bytes: no render, no gzip, zero queries."""
    render = Render()
    first = respond(render, accept=accept)
    forbid_gzip(monkeypatch)
    with django_assert_num_queries(0):
        second = respond(render, accept=accept)
    assert render.calls == 1
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]


@pytest.mark.parametrize(
    ("accept", "size", "encoded"),
    [
        ("gzip", len(BIG), True),
        ("gzip;q=1.0, identity; q=0.5", len(BIG), True),
        ("deflate, br", len(BIG), False),
        ("", len(BIG), False),
        ("gzip", 200, True),  # GZipMiddleware's threshold: it never has a body to compress
        ("gzip", 199, False),
        ("gzip", len(SMALL), False),
    ],
)
def test_cached_response__gzip_only_when_accepted_and_long_enough(accept, size, encoded):
    """Gzipped bytes go to clients accepting gzip, for bodies of at least 200 bytes."""
    body = BIG[:size]
    for _ in ("miss", "hit"):
        response = respond(Render(body), accept=accept)
        assert response.has_header("Content-Encoding") is encoded
        content = gzip.decompress(response.content) if encoded else response.content
        assert content == body
        assert response["Content-Length"] == str(len(response.content))
        assert response.has_header("Vary") is (len(body) >= caching.MIN_GZIP_BYTES)
    if encoded:
        assert response["Content-Encoding"] == "gzip"
        assert response["Vary"] == "Accept-Encoding"


def test_cached_response__etag_weak_stable_and_the_same_for_both_encodings():
    """One weak ETag per body, whatever the encoding, on misses and hits; another body, another."""
    plain = respond(Render()).headers["ETag"]
    gzipped = respond(Render(), accept="gzip").headers["ETag"]
    cache.clear()
    again = respond(Render(), accept="gzip").headers["ETag"]
    other = respond(Render(SMALL), params={"other": 1}).headers["ETag"]
    assert plain == gzipped == again
    assert plain.startswith('W/"') and plain.endswith('"')
    assert other != plain


def test_cached_response__errors_propagate_and_are_never_cached():
    """An exception from render propagates, stores nothing and releases the lock."""
    with pytest.raises(LookupError):
        respond(Render(error=LookupError("no such stock")))
    assert cache.get(current_key()) is None
    assert cache.get(current_key() + ":lock") is None
    render = Render()
    assert respond(render).content == BIG
    assert render.calls == 1


@pytest.mark.parametrize(
    ("timeout", "stored_for"), [(None, 60), (5, 5)], ids=["default", "realtime"]
)
def test_cached_response__stored_for_the_given_timeout(monkeypatch, settings, timeout, stored_for):
    """Entries live RESPONSE_CACHE_TIMEOUT seconds, or the timeout the view gives (realtime)."""
    assert (settings.RESPONSE_CACHE_TIMEOUT, settings.RESPONSE_CACHE_REALTIME_TIMEOUT) == (60, 5)
    recording = Recording(cache)
    monkeypatch.setattr(caching, "cache", recording)
    respond(Render(), timeout=timeout)
    sets = [args for name, args, _kwargs in recording.calls if name == "set"]
    assert [(key, seconds) for key, _entry, seconds in sets] == [(current_key(), stored_for)]


def test_cached_response__disabled_always_renders(settings, monkeypatch):
    """
    RESPONSE_CACHE_ENABLED=false: every request renders, no answer is read or stored; only
    the data version is read (the screen engine's snapshot belongs to one).
    """
    settings.RESPONSE_CACHE_ENABLED = False
    recording = Recording(cache)
    monkeypatch.setattr(caching, "cache", recording)
    monkeypatch.setattr(data_version, "cache", recording)
    render = Render()
    for _ in range(3):
        assert respond(render).content == BIG
    assert render.calls == 3
    assert {(name, args[0]) for name, args, _kwargs in recording.calls} <= {
        ("get", data_version.KEY),
        ("add", data_version.KEY),  # the version's first seed
    }
    assert render.versions == [data_version.current()] * 3


# ---------------------------------------------------------------------------------------
# through the middleware stack
# ---------------------------------------------------------------------------------------


@pytest.mark.urls("tests.caching_site.urls")
@pytest.mark.django_db
def test_cached_response__if_none_match_answers_304_through_the_middleware(
    client, monkeypatch, django_assert_num_queries
):
    """ConditionalGetMiddleware answers 304 for the cached ETag; GZipMiddleware adds nothing."""
    render = Render(caching_site.BODY)
    monkeypatch.setattr(caching_site, "render", render)
    first = client.get("/cached/", HTTP_ACCEPT_ENCODING="gzip")
    forbid_gzip(monkeypatch)
    assert first.status_code == 200
    assert first["Content-Encoding"] == "gzip"
    assert gzip.decompress(first.content) == caching_site.BODY  # compressed once, not twice
    etag = first["ETag"]

    with django_assert_num_queries(0):
        hit = client.get("/cached/", HTTP_ACCEPT_ENCODING="gzip")
        plain = client.get("/cached/")
        strong = etag.removeprefix("W/")
        not_modified = [
            client.get("/cached/", HTTP_IF_NONE_MATCH=tag, HTTP_ACCEPT_ENCODING=accept)
            for tag, accept in [(etag, "gzip"), (etag, ""), (strong, "gzip")]
        ]
    assert render.calls == 1
    assert (hit.status_code, hit.content) == (200, first.content)
    assert (plain.status_code, plain.content) == (200, caching_site.BODY)
    assert plain["ETag"] == hit["ETag"] == etag
    assert "Accept-Encoding" in plain["Vary"]
    for response in not_modified:
        assert (response.status_code, response.content) == (304, b"")
        assert response["ETag"] == etag
    changed = client.get("/cached/", HTTP_IF_NONE_MATCH='W/"something-else"')
    assert changed.status_code == 200


@pytest.mark.urls("tests.caching_site.urls")
@pytest.mark.django_db
def test_cached_response__per_caller_headers_are_each_callers_own(client, monkeypatch):
    """The request id is set after the cache: a hit carries its own caller's id, not the first's."""
    monkeypatch.setattr(caching_site, "render", Render(caching_site.BODY))
    first = client.get("/cached/", HTTP_X_REQUEST_ID="caller-one")
    second = client.get("/cached/", HTTP_X_REQUEST_ID="caller-two")
    assert first["X-Request-ID"] == "caller-one"
    assert second["X-Request-ID"] == "caller-two"
    assert b"caller-one" not in second.content
    stored = cache.get(
        cache_key("stocks", "response", "test-cached", data_version.current(), params_key({}))
    )
    assert stored == CachedBody(caching_site.BODY, stored.gzipped, first["ETag"])


# ---------------------------------------------------------------------------------------
# keys
# ---------------------------------------------------------------------------------------


def test_params_key__order_independent_and_none_dropped():
    """Parameter order does not matter, and a None value is the same as no parameter."""
    assert params_key({"a": 1, "b": "x"}) == params_key({"b": "x", "a": 1})
    assert params_key({"a": 1, "sector": None}) == params_key({"a": 1})
    assert len(params_key({})) == 32  # blake2b, 16 bytes, hex


def test_params_key__values_by_meaning():
    """Numbers by value, sequences as sequences, sets sorted."""
    assert params_key({"min": Decimal("1.50")}) == params_key({"min": 1.5})
    assert params_key({"min": Decimal("100")}) == params_key({"min": 100})
    assert params_key({"t": ["A", "B"]}) == params_key({"t": ("A", "B")})
    assert params_key({"t": {"B", "A"}}) == params_key({"t": frozenset({"A", "B"})})
    assert params_key({"d": date(2024, 1, 2)}) == params_key({"d": "2024-01-02"})


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"t": ["A", "B"]}, {"t": ["B", "A"]}),  # the order of a list can matter (sorting)
        ({"t": ["A", "B"]}, {"t": "A,B"}),
        ({"active": True}, {"active": False}),
        ({"min": 1}, {"min": 10}),
        ({"q": ""}, {}),
        ({"a": 1}, {"b": 1}),
    ],
)
def test_params_key__different_requests_different_keys(one, other):
    """Parameters that mean different things never share a key."""
    assert params_key(one) != params_key(other)


def test_params_key__unknown_type_refused():
    """A value with no canonical form raises instead of risking a shared key."""
    with pytest.raises(TypeError, match="object"):
        params_key({"x": object()})


def test_cached_response__data_version_bump_makes_a_new_key():
    """After a bump the old entry is never read: the next request renders again."""
    render = Render()
    respond(render)
    old_key = current_key()
    data_version.bump()
    assert current_key() != old_key
    respond(render)
    respond(render)
    assert render.calls == 2
    assert cache.get(old_key) is not None  # left to expire, never scanned for


def test_cached_response__cleared_by_its_namespace():
    """Entries live in their namespace: clear_cache --namespace removes them, the version stays."""
    render = Render()
    respond(render)
    version = data_version.current()
    result = clear_cache(namespaces=["stocks"])
    assert result.removed == {"stocks": 1}
    assert data_version.current() == version
    respond(render)
    assert render.calls == 2


# ---------------------------------------------------------------------------------------
# single flight
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [2, 8])
def test_cached_response__concurrent_misses_render_once(any_cache, settings, monkeypatch, threads):
    """N requests missing one key at once: one renders, the others wait for its entry."""
    settings.RESPONSE_CACHE_LOCK_SECONDS = settings.RESPONSE_CACHE_WAIT_SECONDS = 30
    waiting: set[int] = set()
    guard = threading.Lock()
    all_waiting = threading.Event()
    real_sleep = caching._sleep

    def note_waiting(seconds):
        with guard:
            waiting.add(threading.get_ident())
            if len(waiting) == threads - 1:
                all_waiting.set()
        real_sleep(seconds)

    monkeypatch.setattr(caching, "_sleep", note_waiting)
    render = Render(before=lambda: all_waiting.wait(timeout=20) or pytest.fail("never all waiting"))
    start = threading.Barrier(threads)

    def request():
        start.wait(timeout=20)
        return respond(render, accept="gzip")

    with ThreadPoolExecutor(threads) as pool:
        responses = [future.result() for future in [pool.submit(request) for _ in range(threads)]]
    assert render.calls == 1
    assert {gzip.decompress(r.content) for r in responses} == {BIG}
    assert len(waiting) == threads - 1
    assert any_cache.get(current_key() + ":lock") is None


def test_cached_response__a_miss_stores_and_releases_its_lock(any_cache):
    """The entry stored with its timeout, our lock gone; on Redis in one round trip."""
    scripts = []
    real_script = caching.shared_redis.script

    def counted(source):
        scripts.append(source)
        return real_script(source)

    with patch.object(caching.shared_redis, "script", counted):
        assert respond(Render(), timeout=30).content == BIG
    assert any_cache.get(current_key()).body == BIG
    assert any_cache.get(current_key() + ":lock") is None
    if caching.shared_redis.cache_client() is not None:
        # The lookup and the lock: one call; the store and the release: one call.
        assert scripts == [caching._LOOKUP_OR_LOCK, caching._STORE_AND_RELEASE]
        ttl = caching.shared_redis.client().pttl(any_cache.make_key(current_key()))
        assert 0 < ttl <= 30_000


def test_cached_response__a_miss_holds_the_lock_while_it_renders(any_cache, settings):
    """The lock is taken before the render, with its lifetime, and holds our token."""
    settings.RESPONSE_CACHE_LOCK_SECONDS = 7
    seen = []

    def look():
        seen.append(any_cache.get(current_key() + ":lock"))
        if caching.shared_redis.cache_client() is not None:
            seen.append(caching.shared_redis.client().pttl(any_cache.make_key(current_key())))
            seen.append(
                caching.shared_redis.client().pttl(any_cache.make_key(current_key() + ":lock"))
            )

    assert respond(Render(before=look)).content == BIG
    assert isinstance(seen[0], str) and len(seen[0]) == 16  # a token, not another's
    if len(seen) > 1:
        entry_ttl, lock_ttl = seen[1:]
        assert entry_ttl == -2  # nothing stored yet
        assert 0 < lock_ttl <= 7_000
    assert any_cache.get(current_key() + ":lock") is None


def test_cached_response__a_stored_entry_costs_one_lookup_and_takes_no_lock(any_cache, settings):
    """Another process's entry (none of this process's own): read, no lock, no render."""
    respond(Render())
    caching.forget_local()
    recording = Recording(any_cache)
    scripts = []
    real_script = caching.shared_redis.script
    with (
        patch.object(caching, "cache", recording),
        patch.object(caching.shared_redis, "script", lambda s: scripts.append(s) or real_script(s)),
    ):
        render = Render()
        assert respond(render).content == BIG
    assert render.calls == 0
    assert any_cache.get(current_key() + ":lock") is None
    calls = [name for name, _args, _kwargs in recording.calls if name in ("get", "add", "set")]
    if caching.shared_redis.cache_client() is not None:
        assert (scripts, calls) == ([caching._LOOKUP_OR_LOCK], [])
    else:
        assert (scripts, calls) == ([], ["get"])


@pytest.mark.services
def test_cached_response__a_failed_lookup_falls_back_to_the_cache_calls(
    redis_url, settings, monkeypatch, caplog
):
    """The one-step lookup failing (a Redis error) is logged; the cache's own calls follow."""
    settings.CACHES = redis_cache_settings(redis_url)
    any_cache = cache
    real_script = caching.shared_redis.script

    def failing(source):
        if source != caching._LOOKUP_OR_LOCK:
            return real_script(source)

        def run(**kwargs):
            raise RedisConnectionError("lost")

        return run

    monkeypatch.setattr(caching.shared_redis, "script", failing)
    render = Render()
    with caplog.at_level("WARNING", logger="stocks.cache_errors"):
        assert respond(render).content == BIG
    assert render.calls == 1
    assert any_cache.get(current_key()).body == BIG  # stored, and the lock released
    assert any_cache.get(current_key() + ":lock") is None
    assert "response cache lookup failed: lost" in caplog.text
    cache.delete_pattern("*")  # only this test's prefix


def test_cached_response__a_lock_no_longer_ours_is_left(any_cache):
    """Our lock expired and another request took it: storing ours does not release theirs."""

    def lose_it():
        any_cache.set(current_key() + ":lock", "another request", 60)  # ours expired

    assert respond(Render(before=lose_it)).content == BIG
    assert any_cache.get(current_key()).body == BIG
    assert any_cache.get(current_key() + ":lock") == "another request"


def test_cached_response__a_failed_render_releases_its_lock(any_cache):
    """Nothing stored, and the lock released: the next request renders at once."""
    with pytest.raises(RuntimeError):
        respond(Render(error=RuntimeError("boom")))
    assert any_cache.get(current_key()) is None
    assert any_cache.get(current_key() + ":lock") is None


def test_cached_response__waiter_renders_itself_when_the_entry_never_comes(settings, monkeypatch):
    """A lock whose holder never stores: the waiter gives up after the wait and renders."""
    settings.RESPONSE_CACHE_WAIT_SECONDS = 0.05
    pauses = []
    real_sleep = caching._sleep
    monkeypatch.setattr(caching, "_sleep", lambda s: pauses.append(s) or real_sleep(s))
    cache.add(current_key() + ":lock", "another request", timeout=60)
    render = Render()
    started = time.monotonic()
    assert respond(render).content == BIG
    assert 0.05 <= time.monotonic() - started < 1
    assert render.calls == 1
    assert pauses[0] == pytest.approx(0.002)
    assert max(pauses) <= 0.025
    assert cache.get(current_key()).body == BIG  # stored for the next request
    assert cache.get(current_key() + ":lock") == "another request"  # not ours to delete


def test_cached_response__waiter_stops_waiting_when_the_lock_goes(settings, monkeypatch):
    """The holder failed (lock released, nothing stored): the waiter renders at once."""
    settings.RESPONSE_CACHE_WAIT_SECONDS = 30
    lock = current_key() + ":lock"
    cache.add(lock, "another request", timeout=60)
    monkeypatch.setattr(caching, "_sleep", lambda seconds: cache.delete(lock))
    render = Render()
    started = time.monotonic()
    assert respond(render).content == BIG
    assert time.monotonic() - started < 1
    assert render.calls == 1


# ---------------------------------------------------------------------------------------
# the cache unavailable
# ---------------------------------------------------------------------------------------


def test_cached_response__no_data_version_renders_every_time_without_lock(monkeypatch, no_wait):
    """data_version.current() None: render each time; no lock, no read, no write."""
    monkeypatch.setattr(data_version, "current", lambda fresh=False: None)
    recording = Recording(cache)
    monkeypatch.setattr(caching, "cache", recording)
    render = Render()
    responses = [respond(render, accept="gzip") for _ in range(3)]
    assert render.calls == 3
    assert {(name, args[0]) for name, args, _kwargs in recording.calls} <= {
        ("get", data_version.KEY),
        ("add", data_version.KEY),  # the version's first seed
    }
    assert render.versions == [data_version.current()] * 3
    assert {gzip.decompress(r.content) for r in responses} == {BIG}
    assert len({r["ETag"] for r in responses}) == 1


def test_cached_response__redis_down_answers_rendered_at_once(redis_down, no_wait):
    """Redis unreachable (errors ignored): five requests all render, in well under a second."""
    render = Render()
    started = time.monotonic()
    responses = [respond(render) for _ in range(5)]
    assert time.monotonic() - started < 1
    assert render.calls == 5
    assert all(r.status_code == 200 and r.content == BIG for r in responses)


def test_cached_response__hung_redis_bounded_by_the_socket_timeouts(settings, no_wait):
    """A Redis that accepts and never answers: the answer is rendered after ~3 socket timeouts."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.listen(16)
        settings.CACHES = redis_cache_settings(f"redis://127.0.0.1:{server.getsockname()[1]}/0")
        render = Render()
        started = time.monotonic()
        response = respond(render)
        elapsed = time.monotonic() - started
    assert (response.status_code, response.content, render.calls) == (200, BIG, 1)
    assert 2 < elapsed < 5  # three cache calls (read, seed, read) of at most 1 s each


def test_cached_response__redis_failing_after_the_version_never_waits(
    redis_down, monkeypatch, no_wait, settings
):
    """Redis failing between reading the version and the lock: no lock is seen, none waited on."""
    settings.RESPONSE_CACHE_LOCAL_BYTES = 0  # every request goes to (the failing) Redis
    monkeypatch.setattr(data_version, "current", lambda fresh=False: 42)
    render = Render()
    started = time.monotonic()
    for _ in range(5):
        assert respond(render).content == BIG
    assert time.monotonic() - started < 1
    assert render.calls == 5


# ---------------------------------------------------------------------------------------
# the data version
# ---------------------------------------------------------------------------------------


def test_data_version__seeded_from_the_clock():
    """A missing version starts at the current time in microseconds, not at 1."""
    before = time.time_ns() // 1000
    version = data_version.current()
    assert before <= version <= time.time_ns() // 1000
    assert data_version.current() == version


def test_data_version__never_repeats_after_the_key_is_lost(any_cache, settings):
    """Evicted or flushed, the version is re-seeded past every version handed out before."""
    settings.DATA_VERSION_CHECK_SECONDS = 0  # read the key on every call
    seen = [data_version.current()]
    seen += [data_version.bump() for _ in range(50)]
    assert seen == list(range(seen[0], seen[0] + 51))
    any_cache.delete(data_version.KEY)
    assert data_version.current() > max(seen)
    any_cache.delete(data_version.KEY)
    assert data_version.bump() > max(seen)


def test_data_version__another_process_change_seen_within_the_check_interval(settings):
    """A process trusts the version it read for DATA_VERSION_CHECK_SECONDS, then asks again."""
    settings.DATA_VERSION_CHECK_SECONDS = 0.2
    seen = data_version.current()
    cache.incr(data_version.KEY)  # another worker's ingest
    assert data_version.current() == seen
    time.sleep(0.25)
    assert data_version.current() == seen + 1


def test_data_version__own_change_seen_at_once(settings):
    settings.DATA_VERSION_CHECK_SECONDS = 60
    seen = data_version.current()
    assert data_version.bump() == seen + 1
    assert data_version.current() == seen + 1


def test_data_version__within_the_interval_a_hit_makes_no_cache_call(settings, monkeypatch):
    """The version is known and the answer is this process's own: no round trip at all."""
    settings.DATA_VERSION_CHECK_SECONDS = 60
    request = RequestFactory().get("/x")
    render = Render()
    cached_response(request, namespace="stocks", endpoint="e", params={}, render=render)

    def no_round_trip(*args, **kwargs):
        raise AssertionError("the cache was asked")

    for method in ("get", "add", "set", "incr", "get_many"):
        monkeypatch.setattr(cache, method, no_round_trip)
    response = cached_response(request, namespace="stocks", endpoint="e", params={}, render=render)
    assert response.status_code == 200
    assert render.calls == 1


def test_data_version__a_late_read_never_takes_the_version_back(settings, monkeypatch):
    """A read that began before this process's bump and ends after it keeps the bump."""
    settings.DATA_VERSION_CHECK_SECONDS = 60
    seen = data_version.current()
    assert data_version.bump() == seen + 1
    real_get = cache.get
    monkeypatch.setattr(
        data_version.cache,
        "get",
        lambda key, *a, **kw: seen if key == data_version.KEY else real_get(key, *a, **kw),
    )
    assert data_version.current(fresh=True) == seen + 1
    assert data_version.current() == seen + 1


@pytest.mark.django_db(transaction=True)
def test_data_version__own_write_seen_at_once_through_mark_changed(settings):
    settings.DATA_VERSION_CHECK_SECONDS = 60
    seen = data_version.current()
    with transaction.atomic():
        data_version.mark_changed()
    assert data_version.current() == seen + 1


def test_cached_response__a_miss_renders_for_the_version_the_cache_holds(settings):
    """
    Within the interval, this process's own answers are served as they are; anything not
    already here is rendered for (and stored under) the version read fresh.
    """
    settings.DATA_VERSION_CHECK_SECONDS = 60
    first, second = Render(b"a" * 300), Render(b"b" * 300)
    old = data_version.current()
    respond(first, params={"q": "one"})
    cache.incr(data_version.KEY)  # another process's ingest
    assert respond(first, params={"q": "one"}).content == b"a" * 300  # its own, still
    assert first.calls == 1
    respond(second, params={"q": "two"})
    assert second.versions == [old + 1]
    stored_under = cache_key("stocks", "response", "list", old + 1, params_key({"q": "two"}))
    assert cache.get(stored_under).body == b"b" * 300
    assert data_version.current() == old + 1  # and from now on, this process is there too


def test_data_version__none_when_the_cache_cannot_keep_it(redis_down):
    """Redis down (errors ignored): current() and bump() say None, quickly."""
    started = time.monotonic()
    assert data_version.current() is None
    assert data_version.bump() is None
    assert time.monotonic() - started < 1


@pytest.mark.django_db
def test_data_version__mark_changed_moves_once_at_commit(django_capture_on_commit_callbacks):
    """However many writes a transaction makes, the version moves once, when it commits."""
    start = data_version.current()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for _ in range(3):
            data_version.mark_changed()
        assert data_version.current() == start
    assert len(callbacks) == 1
    assert data_version.current() == start + 1


@pytest.mark.django_db(transaction=True)
def test_data_version__mark_changed_outside_a_transaction_moves_at_once():
    """Outside a transaction (autocommit) the write is committed: the version moves at once."""
    start = data_version.current()
    data_version.mark_changed()
    assert data_version.current() == start + 1


def test_settings__response_cache_defaults(settings):
    """The defaults README documents."""
    assert settings.RESPONSE_CACHE_ENABLED is True
    assert settings.RESPONSE_CACHE_TIMEOUT == 60
    assert settings.RESPONSE_CACHE_REALTIME_TIMEOUT == 5
    assert settings.RESPONSE_CACHE_LOCK_SECONDS == 5
    assert settings.RESPONSE_CACHE_WAIT_SECONDS == 2.0
    assert settings.DATA_VERSION_CHECK_SECONDS == 1.0
