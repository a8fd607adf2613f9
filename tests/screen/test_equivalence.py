"""
The in-memory engine and the SQL screen agree: same count, same rows, same order, same
page links, for random filters, orderings, pages and cursors, on every database backend.

Each test writes one dataset (built from a fixed seed to hit the edge cases: ties on every
orderable field, NULLs, 4-decimal boundaries, strings equal only under a case- and
pad-insensitive collation, inactive stocks), builds the engine's snapshot of it, then lets
hypothesis draw raw query parameters, as a client sends them, against that one dataset.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from rest_framework.exceptions import NotFound

from stocks.models import Stock
from stocks.screen import engine, select
from stocks.screen.fields import BY_NAME, FILTERS, LIST_FIELDS, ORDERING_FIELDS, Op
from stocks.screen.paging import Paging, Position, parse_paging
from stocks.screen.params import parse_screen

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 15, 30, 0, 250_000, tzinfo=UTC)
STALE_BEFORE = NOW - timedelta(minutes=20)
# A cursor walk reads at most this many pages each way (the page size grows to fit).
MAX_WALK_PAGES = 8
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- the dataset --------------------------------------------------------------------------

# Values equal under MySQL's _ci (pad space) collations but not elsewhere.
NAMES = (
    "Alpha", "alpha", "Alpha ", "ALPHA", "Éclair", "eclair", "Eclair", "Zeta", "zeta",
    "Beta Corp", "beta corp", "Ömega", "Omega", "AB", "ab", "a b", "Zeta-1",
)  # fmt: skip
STRINGS = {
    "exchange": ("NYSE", "nyse", "NYSE ", "NASDAQ", "Nasdaq", ""),
    "sector": ("Energy", "energy", "Energy ", "ENERGY", "Utilities", "Health Care",
               "health care", ""),
    "industry": ("Oil & Gas", "oil & gas", "Oil & Gas ", "Énergie", "Energie", "energie",
                 "Banks", ""),
    "country": ("United States", "united states", "United States ", "Canada",
                "Côte d'Ivoire", "Cote d'Ivoire", ""),
}  # fmt: skip
# (price, week52_high, w): price is exactly w percent below the high, so near_52w_high=w
# is decided on the boundary (inclusive).
NEAR_PAIRS = (
    ("95", "100", "5"),
    ("79.2", "80", "1"),
    ("114", "120", "5"),
    ("3.1999", "3.2", "0.003125"),
    ("12.4999", "12.5", "0.0008"),
    ("10.0001", "10.0001", "0"),
    ("0.0001", "0.0002", "50"),
    ("0.0001", "100", "99.9999"),
    ("62.5", "64", "2.34375"),
    ("1.2345", "1.25", "1.24"),
)
NEAR_VALUES = tuple(w for _, _, w in NEAR_PAIRS)
PRICES = ("10", "10.0001", "9.9999", "95", "100", "0.0001", "3.1999", "3.2", "12.5", "50")


def _decimal(rng: random.Random, top: int) -> Decimal:
    return Decimal(rng.randint(0, top * 10_000)).scaleb(-4)


def _pick(rng: random.Random, choices, random_value, null: float = 0.15):
    """NULL, one of a few shared values (ties), or a random one."""
    roll = rng.random()
    if roll < null:
        return None
    if roll < 0.75:
        return rng.choice(choices)
    return random_value()


def _tickers(rng: random.Random, size: int) -> list[str]:
    tickers: set[str] = set()
    while len(tickers) < size:
        rest = "".join(rng.choice("AB.0Z9") for _ in range(rng.randint(0, 4)))
        tickers.add(rng.choice("AB0Z") + rest)
    return sorted(tickers)


def _stock(rng: random.Random, ticker: str) -> Stock:
    dec = [Decimal(p) for p in PRICES]
    price = _pick(rng, dec, lambda: _decimal(rng, 200), null=0.1)
    high = _pick(rng, [*dec, Decimal(120)], lambda: _decimal(rng, 250))
    if price is not None and rng.random() < 0.3:
        pair = rng.choice(NEAR_PAIRS)
        price, high = Decimal(pair[0]), Decimal(pair[1])

    def around(base: Decimal | None) -> Decimal | None:
        if base is None or rng.random() < 0.15:
            return None if rng.random() < 0.5 else _decimal(rng, 200)
        return base + rng.choice([Decimal(0), Decimal(0), Decimal("0.0001"), Decimal("-0.0001"),
                                  Decimal(5), Decimal(-5)])  # fmt: skip

    def float_of(choices, low: float, high_: float, places: int = 4):
        return _pick(rng, choices, lambda: round(rng.uniform(low, high_), places))

    def int_of(choices, top: int):
        return _pick(rng, choices, lambda: rng.randint(0, top))

    quoted = _pick(
        rng,
        [NOW, STALE_BEFORE, STALE_BEFORE - timedelta(microseconds=1),
         STALE_BEFORE + timedelta(microseconds=1), NOW - timedelta(days=3)],
        lambda: NOW - timedelta(seconds=rng.randint(0, 7200), microseconds=rng.randint(0, 999_999)),
        null=0.1,
    )  # fmt: skip
    return Stock(
        ticker=ticker,
        name=rng.choice(NAMES),
        **{name: rng.choice(values) for name, values in STRINGS.items()},
        currency="USD",
        price=price,
        change=_pick(rng, [Decimal("-1.5"), Decimal(0), Decimal("1.5"), Decimal("0.0001"),
                           Decimal("-0.0001")], lambda: _decimal(rng, 10) - 5),
        change_percent=float_of([-2.5, 0.0, -0.0, 2.5, 1.1, 0.0001], -10, 10),
        volume=int_of([0, 999, 1000, 1001, 1_000_000], 5_000_000),
        avg_volume_30d=int_of([0, 999, 1000, 1001, 1_000_000], 5_000_000),
        market_cap=int_of([10**9 - 1, 10**9, 10**9 + 1, 2 * 10**12], 10**13),
        pe_ratio=float_of([-5.0, 0.0, 15.0, 15.5, 30.0], -50, 200, places=2),
        dividend_yield=float_of([0.0, 1.5, 3.0], 0, 12),
        beta=float_of([-0.5, 0.0, 1.0, 1.2], -2, 3, places=3),
        rsi_14=float_of([0.0, 30.0, 70.0, 100.0], 0, 100, places=2),
        sma_50=around(price),
        sma_200=around(price),
        week52_high=high,
        week52_low=around(price),
        volatility_30d=float_of([0.25, 0.3], 0, 2),
        quote_time=quoted,
        is_active=rng.random() > 0.1,
    )  # fmt: skip


# A version of its own per dataset: the SQL screen remembers the row count per version.
_versions = itertools.count(1)


def _populate(seed: int, size: int) -> engine.Snapshot:
    rng = random.Random(seed)
    Stock.objects.bulk_create([_stock(rng, t) for t in _tickers(rng, size)])
    return engine.build(version=next(_versions))


# --- raw query parameters -----------------------------------------------------------------


def _values_of(field: str) -> list[Any]:
    column = BY_NAME[field].column
    values = Stock.objects.exclude(**{f"{column}__isnull": True}).values_list(column, flat=True)
    return sorted(set(values))


@st.composite
def _number(draw, flt, seen: list[Decimal]) -> str:
    """A bound near the data: a stored value, just beside one (closer than any column's
    scale, too), or anything (up to 20 places)."""
    step = draw(st.sampled_from(["0", "0.000001", "-0.000001", "0.0001", "-0.0001", "0.5",
                                 "0.00000000000000000001", "-0.00000001"]))  # fmt: skip
    near = st.sampled_from(seen).map(lambda v: v + Decimal(step)) if seen else st.nothing()
    anywhere = st.builds(
        lambda units, places: Decimal(units).scaleb(-places),
        st.integers(-(10**7), 10**13),
        st.integers(0, 20),
    )
    value = draw(st.one_of(near, anywhere))
    if flt.minimum is not None:
        value = max(value, flt.minimum)
    if flt.maximum is not None:
        value = min(value, flt.maximum)
    text = format(value.normalize() if draw(st.booleans()) else value, "f")
    return draw(st.sampled_from([text, f" {text} "]))


def _case_variants(text: str) -> list[str]:
    return [text, text.lower(), text.upper(), text + " ", text.strip(), "X" + text]


@st.composite
def _tickers_param(draw, tickers: list[str]) -> str:
    chosen = draw(st.lists(st.sampled_from([*tickers, "NOPE", "QQQQQ", "A.B.C"]), max_size=6))
    spelled = [draw(st.sampled_from([t, t.lower(), t.replace(".", "-"), f" {t} "])) for t in chosen]
    return draw(st.sampled_from([",", ", "])).join(spelled) or ","


def raw_params(
    dataset: dict[str, Any], cursor_mode: bool | None = None, with_ticker: bool = False
) -> st.SearchStrategy:
    """Query parameters as a client sends them: every filter maybe, ordering, fields, paging."""
    options: dict[str, st.SearchStrategy[str]] = {}
    for param, flt in FILTERS.items():
        if flt.op in (Op.GTE, Op.LTE):
            options[param] = _number(flt, dataset["numbers"][flt.field])
        elif flt.op is Op.EXACT:
            variants = [v for s in dataset["strings"][flt.field] for v in _case_variants(s)]
            options[param] = st.sampled_from(sorted(set(variants)))
        elif flt.op is Op.IN:
            options[param] = _tickers_param(dataset["tickers"])
        elif flt.op is Op.PRICE_ABOVE:
            options[param] = st.sampled_from(["true", "false", "1", "0", "yes", "off", "True"])
        else:  # PRICE_NEAR
            options[param] = st.one_of(
                st.sampled_from(NEAR_VALUES),
                st.sampled_from(["true", "yes", "1", "5", "0", "100"]),
                st.sampled_from(NEAR_VALUES).map(
                    lambda w: str(min(100, max(0, Decimal(w) + Decimal("0.000001"))))
                ),
                st.integers(0, 100).map(str),
            )

    @st.composite
    def build(draw) -> dict[str, str]:
        chosen = draw(st.lists(st.sampled_from(sorted(options)), max_size=3, unique=True))
        params = {param: draw(options[param]) for param in chosen}
        ordering = draw(
            st.sampled_from([None, *ORDERING_FIELDS, *(f"-{f}" for f in ORDERING_FIELDS)])
        )
        if ordering is not None:
            params["ordering"] = ordering
        if draw(st.booleans()):
            fields = draw(st.lists(st.sampled_from(LIST_FIELDS), min_size=1, unique=True))
            if with_ticker and "ticker" not in fields:
                fields.append("ticker")
            params["fields"] = ",".join(fields)
        params["page_size"] = str(draw(st.integers(1, 20)))
        cursor = draw(st.booleans()) if cursor_mode is None else cursor_mode
        if cursor:
            params["cursor"] = ""
        else:
            params["page"] = str(draw(st.integers(1, 4) | st.integers(1, 200)))
        return params

    return build()


def _dataset(snapshot: engine.Snapshot) -> dict[str, Any]:
    numbers = {
        f.name: [
            Decimal(repr(v)) if isinstance(v, float) else Decimal(v) for v in _values_of(f.name)
        ]
        for f in BY_NAME.values()
        if f.numeric
    }
    strings = {name: sorted(set(values)) for name, values in STRINGS.items()}
    return {"numbers": numbers, "strings": strings, "tickers": snapshot.tickers}


# --- running both paths -------------------------------------------------------------------


def _run(path: str, snapshot: engine.Snapshot, query, paging: Paging):
    """One path's Result, or NotFound (a page past the end)."""
    try:
        if path == "numpy":
            return select._on_snapshot(snapshot, query, paging, snapshot.version, STALE_BEFORE)
        return select._on_database(query, paging, snapshot.version, STALE_BEFORE)
    except NotFound:
        return NotFound
    except engine.Unsupported as exc:  # pragma: no cover - a failure
        pytest.fail(f"the engine gave up on an unchanged dataset: {exc}")


def _links(result) -> tuple:
    return (result.next, result.previous)


def _both(snapshot: engine.Snapshot, query, paging: Paging):
    """Both paths' answers, asserted equal: count, tickers in order, links, whole rows."""
    ours = _run("numpy", snapshot, query, paging)
    reference = _run("sql", snapshot, query, paging)
    if ours is NotFound or reference is NotFound:
        assert ours is reference, "only one path answered 404"
        return None
    assert ours.count == reference.count
    assert [r.get("ticker") for r in ours.rows] == [r.get("ticker") for r in reference.rows]
    assert _links(ours) == _links(reference)
    assert ours.rows == reference.rows
    return reference


def _whole(snapshot: engine.Snapshot, query) -> list[dict]:
    """The full ordered result, as one big page (both paths agree on it)."""
    count = select._on_database(query, Paging(size=1), snapshot.version, STALE_BEFORE).count
    result = _both(snapshot, query, Paging(size=max(count, 1)))
    return result.rows


def _parse(params: dict[str, str]):
    query = parse_screen(params)
    return query, parse_paging(params, query.ordering)


def _relayed(position: Position | None, query) -> Position | None:
    """A position as the client hands it back: encoded in a link, decoded by the view."""
    if position is None:
        return None
    return Position.decode(position.encode(), query.ordering)


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [20260302, 7])
def test_engine_and_sql__same_page_for_any_screen(seed):
    """Any filters, ordering, fields and page (or first cursor page): the same answer."""
    snapshot = _populate(seed, size=160)
    dataset = _dataset(snapshot)
    inactive = set(Stock.objects.filter(is_active=False).values_list("ticker", flat=True))
    assert inactive and snapshot.size > 100

    @SETTINGS
    @given(raw_params(dataset))
    def check(params):
        note(f"params={params!r}")
        query, paging = _parse(params)
        result = _both(snapshot, query, paging)
        event("404" if result is None else f"count: {min(result.count // 10 * 10, 50)}+")
        if result is not None:
            assert not inactive & {row.get("ticker") for row in result.rows}

    check()


@pytest.mark.parametrize("seed", [20260302])
def test_engine_and_sql__same_page_from_any_cursor(seed):
    """A cursor at any active row, forwards or backwards, under any screen: the same page."""
    snapshot = _populate(seed, size=160)
    dataset = _dataset(snapshot)
    rows = {row["ticker"]: row for row in Stock.objects.active().values()}

    @settings(SETTINGS, max_examples=200)
    @given(raw_params(dataset, cursor_mode=True), st.sampled_from(sorted(rows)), st.booleans())
    def check(params, ticker, backwards):
        sort = parse_screen(params).ordering
        column = BY_NAME[sort.field].column
        value = None if sort.field == "ticker" else rows[ticker][column]
        params = {**params, "cursor": Position(value, ticker, backwards, str(sort), None).encode()}
        note(f"params={params!r}")
        query, paging = _parse(params)
        _both(snapshot, query, paging)

    check()


@pytest.mark.parametrize("seed", [20260302, 11])
def test_cursor_walk__stable_and_equal_on_both_paths(seed):
    """Walking next to the end, then previous back to the start: the same pages on both
    paths, every matching row exactly once, in the order of one big page."""
    snapshot = _populate(seed, size=120)
    dataset = _dataset(snapshot)

    @settings(SETTINGS, max_examples=60)
    @given(raw_params(dataset, cursor_mode=True, with_ticker=True))
    def check(params):
        note(f"params={params!r}")
        query, paging = _parse(params)
        whole = _whole(snapshot, query)
        event(f"matches: {min(len(whole) // 20 * 20, 100)}+")
        size = max(paging.size, -(-len(whole) // MAX_WALK_PAGES))  # a bounded walk
        forward = []
        position = None
        while True:
            page = _both(snapshot, query, Paging(size=size, cursor_mode=True, position=position))
            forward.append(page)
            assert len(forward) <= len(whole) // size + 1, "the walk does not end"
            if page.next is None:
                break
            assert len(page.rows) == size
            position = _relayed(page.next, query)
        walked = [row for page in forward for row in page.rows]
        assert len({row["ticker"] for row in walked}) == len(walked), "a row seen twice"
        assert walked == whole
        assert forward[0].previous is None
        # Back from the last page: each page read backwards is the forward page.
        position = _relayed(forward[-1].previous, query)
        for expected in reversed(forward[:-1]):
            assert position is not None
            page = _both(snapshot, query, Paging(size=size, cursor_mode=True, position=position))
            assert [r["ticker"] for r in page.rows] == [r["ticker"] for r in expected.rows]
            assert page.rows == expected.rows
            assert page.count == expected.count
            assert page.previous == expected.previous
            assert page.next == expected.next
            position = _relayed(page.previous, query)
        assert position is None

    check()


def test_dataset__has_the_edge_cases():
    """The dataset holds what the equivalence tests rely on (ties, NULLs, variants)."""
    snapshot = _populate(20260302, size=160)
    stocks = list(Stock.objects.values())
    for name in ORDERING_FIELDS:
        column = BY_NAME[name].column
        values = [s[column] for s in stocks]
        if name != "ticker":
            assert len(set(values)) < len(values), f"no ties on {name}"
        if BY_NAME[name].numeric:
            assert None in values, f"no NULL {name}"
    assert {"Energy", "energy", "Energy "} <= {s["sector"] for s in stocks}
    assert any(s["price"] is not None and s["price"] == s["sma_50"] for s in stocks)
    assert any((s["price"], s["week52_high"]) == (Decimal(95), Decimal(100)) for s in stocks)
    assert any(not s["is_active"] for s in stocks)
    assert snapshot.size == sum(s["is_active"] for s in stocks)


# The largest price a column holds. SQLite stores decimals as doubles, and Django cannot read
# back a double that rounds to 15 whole digits there, so SQLite gets the largest it can.
TOP_PRICE = "9999999999999.9999" if connection.vendor == "sqlite" else "99999999999999.9999"


@pytest.mark.parametrize(
    "params",
    [
        {"price_max": TOP_PRICE},
        {"price_min": "1000000000000.0001", "price_max": "1000000000000.0001"},
        {"ordering": "-price"},
    ],
)
def test_engine_and_sql__same_answer_for_the_largest_prices(params):
    """A price column holds 14 whole digits: past 2^53 / 10^4 the engine must stay exact."""
    Stock.objects.bulk_create(
        [
            Stock(ticker="BIG", name="Big", price=Decimal(TOP_PRICE)),
            Stock(ticker="TRIL", name="Tril", price=Decimal("1000000000000.0001")),
            Stock(ticker="TRIM", name="Trim", price=Decimal("1000000000000.0002")),
        ]
    )
    snapshot = engine.build(version=next(_versions))
    query, paging = _parse(params)
    _both(snapshot, query, paging)
