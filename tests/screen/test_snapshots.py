"""Which snapshot the engine screens on: built once per data version, shared, never waited for."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest
from django.core.cache import cache

from stocks import data_version
from stocks.cache_namespaces import cache_key
from stocks.screen import engine, snapshots
from stocks.services.ingest import ingest_quotes

from ..factories import StockFactory

pytestmark = pytest.mark.django_db

URL = "/api/stocks/"


@pytest.fixture
def builds(monkeypatch) -> list[int | None]:
    """Every snapshot build, by the version it was built for."""
    seen: list[int | None] = []
    real = engine.build

    def counting(version, using="default"):
        seen.append(version)
        return real(version, using)

    monkeypatch.setattr(engine, "build", counting)
    return seen


@pytest.fixture
def uncached(settings):
    """Every request reaches the screen (no response cache in front of it)."""
    settings.RESPONSE_CACHE_ENABLED = False


def screened_by(response) -> str:
    assert response.status_code == 200, response.content
    return response["X-Screen-Engine"]


def test_snapshot__built_once_per_data_version(api, uncached, builds):
    """Screens of one data version share one build; a write makes the next one rebuild."""
    StockFactory(ticker="AAA")
    for ordering in ("ticker", "-price", "pe_ratio"):
        assert screened_by(api.get(URL, {"ordering": ordering})) == "numpy"
    assert len(builds) == 1

    StockFactory(ticker="BBB")
    response = api.get(URL)

    assert len(builds) == 2
    assert [row["ticker"] for row in response.json()["results"]] == ["AAA", "BBB"]


def test_snapshot__no_version_means_sql(api, uncached, builds, monkeypatch):
    """Without a data version (the cache cannot keep one) the database answers."""
    StockFactory(ticker="AAA")
    monkeypatch.setattr(data_version, "current", lambda fresh=False: None)

    assert screened_by(api.get(URL)) == "sql"
    assert builds == []


def test_snapshot__data_changed_during_the_build_is_discarded(
    api, uncached, monkeypatch, settings, caplog
):
    """A snapshot read while the version moved may hold the next version's rows: not kept."""
    settings.SCREEN_SNAPSHOT_SHARED = True
    StockFactory(ticker="AAA")
    real = engine.build

    def racing(version, using="default"):
        snapshot = real(version, using)
        data_version.bump()  # an ingest commits while the rows were being read
        return snapshot

    monkeypatch.setattr(engine, "build", racing)
    assert screened_by(api.get(URL)) == "sql"
    assert snapshots.held() is None
    assert "discarded: the data changed" in caplog.text
    assert _snapshot_keys() == []


def _snapshot_keys() -> list[str]:
    version = data_version.current(fresh=True)
    return [
        key
        for key in (cache_key("stocks", "snapshot", v) for v in (version - 1, version))
        if cache.get(key) is not None or cache.get(key + ":lock") is not None
    ]


def test_snapshot__failed_build_falls_back_and_waits_before_retrying(
    api, uncached, monkeypatch, caplog
):
    """A build that fails is logged once; the database answers, and no request retries at once."""
    StockFactory(ticker="AAA")
    attempts = []

    def broken(version, using="default"):
        attempts.append(version)
        raise RuntimeError("simulated build failure")

    monkeypatch.setattr(engine, "build", broken)

    assert screened_by(api.get(URL)) == "sql"
    assert screened_by(api.get(URL, {"ordering": "-price"})) == "sql"
    assert len(attempts) == 1
    assert "building the screen snapshot" in caplog.text


def test_snapshot__another_worker_building_means_sql(api, uncached, builds, settings):
    """While another process holds the build lock of this version, this one does not wait."""
    settings.SCREEN_SNAPSHOT_SHARED = True
    StockFactory(ticker="AAA")
    version = data_version.current()
    cache.add(cache_key("stocks", "snapshot", version) + ":lock", 1, timeout=60)

    assert screened_by(api.get(URL)) == "sql"
    assert builds == []


def test_snapshot__shared_snapshot_loaded_without_a_query(
    any_cache, settings, builds, django_assert_num_queries
):
    """A snapshot published to the cache is loaded by the next process, with no query."""
    settings.SCREEN_SNAPSHOT_SHARED = True
    StockFactory(ticker="AAA", price=Decimal("12.3400"))
    StockFactory(ticker="BBB", price=None, change=None, change_percent=None)
    published = snapshots.publish()
    assert published is not None and builds == [data_version.current()]
    snapshots.forget()  # as a fresh worker

    with django_assert_num_queries(0):
        loaded = snapshots.current(data_version.current())

    assert builds == [data_version.current()]
    assert loaded.tickers == ["AAA", "BBB"]
    assert loaded.position_value("price", 0) == Decimal("12.34")
    assert loaded.position_value("price", 1) is None


def test_snapshot__not_shared_without_a_shared_cache(settings, builds):
    """In the embedded default each process builds its own: publish does nothing."""
    settings.SCREEN_SNAPSHOT_SHARED = False
    StockFactory(ticker="AAA")

    assert snapshots.publish() is None
    assert builds == []
    assert cache.get(cache_key("stocks", "snapshot", data_version.current())) is None


def test_snapshot__unreadable_blob_is_rebuilt(api, uncached, settings, builds):
    """A blob that does not unpickle (another release wrote it) is replaced by a build."""
    settings.SCREEN_SNAPSHOT_SHARED = True
    StockFactory(ticker="AAA")
    cache.set(cache_key("stocks", "snapshot", data_version.current()), b"not a snapshot")

    assert screened_by(api.get(URL)) == "numpy"
    assert len(builds) == 1
    blob = cache.get(cache_key("stocks", "snapshot", data_version.current()))
    assert pickle.loads(blob).tickers == ["AAA"]


def test_snapshot__ingest_publishes_the_new_version(
    settings, builds, django_capture_on_commit_callbacks
):
    """After an ingest commits, the new version's snapshot is already in the shared cache."""
    from stocks.providers.base import Quote

    settings.SCREEN_SNAPSHOT_SHARED = True
    StockFactory(ticker="AAA", price=Decimal("10"))
    quote = Quote(
        ticker="AAA", price=Decimal("11"), previous_close=Decimal("10"),
        quote_time=StockFactory._meta.model.objects.get(ticker="AAA").quote_time,
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        ingest_quotes(quotes=[quote])

    blob = cache.get(cache_key("stocks", "snapshot", data_version.current()))
    assert blob is not None
    assert pickle.loads(blob).position_value("price", 0) == Decimal("11")


def test_snapshot__freed_memory_given_back_after_each_load_or_build(settings, monkeypatch):
    """The heap a load or build leaves is handed back (malloc_trim where glibc has it)."""
    trims: list[int] = []
    monkeypatch.setattr(snapshots, "_malloc_trim", lambda: trims.append)
    settings.SCREEN_SNAPSHOT_SHARED = False
    StockFactory(ticker="AAA")

    assert snapshots.current(data_version.current()) is not None  # built
    assert snapshots.current(data_version.current()) is not None  # held: nothing freed
    assert trims == [0]


def test_snapshot__no_trim_while_another_process_builds(settings, monkeypatch, builds):
    """Waiting for another worker's build costs a request no trim (it takes milliseconds)."""
    trims: list[int] = []
    monkeypatch.setattr(snapshots, "_malloc_trim", lambda: trims.append)
    settings.SCREEN_SNAPSHOT_SHARED = True
    StockFactory(ticker="AAA")
    version = data_version.current()
    cache.add(cache_key("stocks", "snapshot", version) + ":lock", 1, timeout=60)

    assert snapshots.current(version) is None
    assert (builds, trims) == ([], [])


def test_snapshot__giving_memory_back_is_a_no_op_without_glibc(monkeypatch):
    snapshots._malloc_trim.cache_clear()
    monkeypatch.setattr(snapshots.ctypes, "CDLL", lambda name: object())  # no malloc_trim
    try:
        snapshots.give_back_freed_memory()
        assert snapshots._malloc_trim() is None
    finally:
        snapshots._malloc_trim.cache_clear()


def _next_snapshot() -> engine.Snapshot:
    """The snapshot of the next data version, as a refresh's publish builds it."""
    data_version.bump()
    return snapshots.current(data_version.current(fresh=True))


@pytest.fixture
def first(settings) -> engine.Snapshot:
    """Two stocks whose ticker and name orders differ, and their prepared snapshot."""
    settings.SCREEN_SNAPSHOT_SHARED = True
    StockFactory(ticker="AAA", name="Zeta Corp", price=Decimal("10"))
    StockFactory(ticker="BBB", name="Alpha Inc", price=Decimal("20"))
    snapshot = _next_snapshot()
    snapshot.prepare()  # the name order read, the words built
    return snapshot


def test_snapshot__same_stocks_and_names_inherit_name_order_and_words(api, uncached, first):
    """A refresh of prices: the name order and the search words are not read or built again."""
    StockFactory._meta.model.objects.filter(ticker="AAA").update(price=Decimal("11"))

    second = _next_snapshot()

    assert second is not first
    assert second.ascending["name"] is first.ascending["name"]
    assert second.words() is first.words()
    response = api.get(URL, {"ordering": "name"})
    assert screened_by(response) == "numpy"
    assert [(r["ticker"], r["price"]) for r in response.json()["results"]] == [
        ("BBB", 20.0),
        ("AAA", 11.0),
    ]


def test_snapshot__a_name_order_is_read_again_once_old(api, uncached, first, monkeypatch):
    """The collation decides the name order: past NAME_ORDER_REUSE_SECONDS it is read anew."""
    assert not first.ascending["name"].flags.writeable  # shared: never changed in place
    monkeypatch.setattr(engine, "NAME_ORDER_REUSE_SECONDS", 0)

    second = _next_snapshot()

    assert second.words() is first.words()  # the words are this code's, not the database's
    assert second.ascending.get("name") is not first.ascending["name"]
    response = api.get(URL, {"ordering": "name"})
    assert [r["ticker"] for r in response.json()["results"]] == ["BBB", "AAA"]
    assert second.name_order_read_at > first.name_order_read_at


@pytest.mark.parametrize("change", ["rename", "new stock", "deactivated", "re-created"])
def test_snapshot__changed_stocks_or_names_are_read_again(api, uncached, first, change):
    """A listing change: the name order and the search words follow it."""
    stocks = StockFactory._meta.model.objects
    if change == "rename":
        stocks.filter(ticker="BBB").update(name="Zulu Inc")
    elif change == "new stock":
        StockFactory(ticker="CCC", name="Beta Ltd")
    elif change == "deactivated":
        stocks.filter(ticker="AAA").update(is_active=False)
    else:  # the same ticker and name under a new id
        stocks.filter(ticker="AAA").delete()
        StockFactory(ticker="AAA", name="Zeta Corp")

    second = _next_snapshot()

    assert second.ascending.get("name") is not first.ascending["name"]
    assert second.words() is not first.words()
    expected = {  # by name (Alpha Inc, Beta Ltd, Zeta Corp, Zulu Inc)
        "rename": ["AAA", "BBB"],  # Zeta Corp, Zulu Inc
        "new stock": ["BBB", "CCC", "AAA"],  # Alpha Inc, Beta Ltd, Zeta Corp
        "deactivated": ["BBB"],
        "re-created": ["BBB", "AAA"],
    }[change]
    response = api.get(URL, {"ordering": "name"})
    assert screened_by(response) == "numpy"
    assert [r["ticker"] for r in response.json()["results"]] == expected
    found = api.get("/api/stocks/search/", {"q": "zulu" if change == "rename" else "alpha"})
    assert [r["ticker"] for r in found.json()["results"]] == ["BBB"]
