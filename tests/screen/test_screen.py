"""GET /api/stocks/: every screen filter, every ordering, sparse fields, validation, queries."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from stocks.models import Stock
from stocks.screen.fields import LIST_FIELDS, ORDERING_FIELDS, TICKERS_MAX_LENGTH

from ..factories import StockFactory

pytestmark = pytest.mark.django_db

URL = "/api/stocks/"
ERROR_KEYS = {"status", "code", "message", "details", "request_id"}
# Quote-derived columns the factory computes from ``price``; given explicitly so a NULL
# price (or any price) never reaches the factory's arithmetic.
QUOTE = {"price": Decimal("50.0000"), "change": Decimal("1.0000"), "change_percent": 2.0}


def make(ticker: str, **fields) -> Stock:
    return StockFactory(ticker=ticker, **{**QUOTE, **fields})


def tickers_of(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["ticker"] for row in response.json()["results"]]


def assert_invalid(response, parameter: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS
    assert error["status"] == 400
    assert error["code"] == "invalid"
    assert parameter in error["details"], error["details"]
    assert error["request_id"] == response["X-Request-ID"]


# --- filters ------------------------------------------------------------------------------

# (query, rows that must match, rows that must not). Boundaries are inclusive and a NULL
# never satisfies a range.
FILTER_CASES = {
    "sector": ({"sector": "Energy"}, [{"sector": "Energy"}], [{"sector": "Utilities"}]),
    "industry": (
        {"industry": "Oil & Gas"},
        [{"industry": "Oil & Gas"}],
        [{"industry": "Oil & Gas Services"}, {"industry": "Banks"}],
    ),
    "exchange": ({"exchange": "NASDAQ"}, [{"exchange": "NASDAQ"}], [{"exchange": "NYSE"}]),
    "country": ({"country": "Canada"}, [{"country": "Canada"}], [{"country": "United States"}]),
    "price_min": (
        {"price_min": "50"},
        [{"price": Decimal("50")}, {"price": Decimal("75.5")}],
        [{"price": Decimal("49.9999")}, {"price": None}],
    ),
    "price_max": (
        {"price_max": "50"},
        [{"price": Decimal("50")}, {"price": Decimal("0.01")}],
        [{"price": Decimal("50.0001")}, {"price": None}],
    ),
    "change_percent_min": (
        {"change_percent_min": "-1"},
        [{"change_percent": -1.0}, {"change_percent": 3.5}],
        [{"change_percent": -1.5}, {"change_percent": None}],
    ),
    "change_percent_max": (
        {"change_percent_max": "2.5"},
        [{"change_percent": 2.5}, {"change_percent": -7.0}],
        [{"change_percent": 2.75}, {"change_percent": None}],
    ),
    "volume_min": (
        {"volume_min": "1000"},
        [{"volume": 1000}, {"volume": 5_000_000}],
        [{"volume": 999}, {"volume": None}],
    ),
    "volume_min fractional": (
        {"volume_min": "1.5"},
        [{"volume": 2}],
        [{"volume": 1}, {"volume": None}],
    ),
    "avg_volume_min": (
        {"avg_volume_min": "500"},
        [{"avg_volume_30d": 500}, {"avg_volume_30d": 900_000}],
        [{"avg_volume_30d": 499}, {"avg_volume_30d": None}],
    ),
    "market_cap_min": (
        {"market_cap_min": "2e9"},
        [{"market_cap": 2_000_000_000}, {"market_cap": 3_000_000_000_000}],
        [{"market_cap": 1_999_999_999}, {"market_cap": None}],
    ),
    "market_cap_max": (
        {"market_cap_max": "2000000000"},
        [{"market_cap": 2_000_000_000}, {"market_cap": 1}],
        [{"market_cap": 2_000_000_001}, {"market_cap": None}],
    ),
    "pe_min": (
        {"pe_min": "10"},
        [{"pe_ratio": 10.0}, {"pe_ratio": 45.5}],
        [{"pe_ratio": 9.5}, {"pe_ratio": None}],
    ),
    "pe_max": (
        {"pe_max": "25"},
        [{"pe_ratio": 25.0}, {"pe_ratio": -3.0}],
        [{"pe_ratio": 25.5}, {"pe_ratio": None}],
    ),
    "dividend_yield_min": (
        {"dividend_yield_min": "2"},
        [{"dividend_yield": 2.0}, {"dividend_yield": 6.25}],
        [{"dividend_yield": 1.75}, {"dividend_yield": None}],
    ),
    "beta_min": (
        {"beta_min": "0.5"},
        [{"beta": 0.5}, {"beta": 2.0}],
        [{"beta": 0.25}, {"beta": None}],
    ),
    "beta_max": (
        {"beta_max": "1.5"},
        [{"beta": 1.5}, {"beta": -0.5}],
        [{"beta": 1.75}, {"beta": None}],
    ),
    "rsi_min": (
        {"rsi_min": "30"},
        [{"rsi_14": 30.0}, {"rsi_14": 99.0}],
        [{"rsi_14": 29.5}, {"rsi_14": None}],
    ),
    "rsi_max": (
        {"rsi_max": "70"},
        [{"rsi_14": 70.0}, {"rsi_14": 0.0}],
        [{"rsi_14": 70.5}, {"rsi_14": None}],
    ),
    "rsi range": (
        {"rsi_min": "30", "rsi_max": "70"},
        [{"rsi_14": 30.0}, {"rsi_14": 50.0}, {"rsi_14": 70.0}],
        [{"rsi_14": 29.0}, {"rsi_14": 71.0}],
    ),
    "above_sma50 true": (
        {"above_sma50": "true"},
        [{"price": Decimal("100"), "sma_50": Decimal("90")}],
        [
            {"price": Decimal("100"), "sma_50": Decimal("100")},
            {"price": Decimal("80"), "sma_50": Decimal("90")},
            {"price": Decimal("100"), "sma_50": None},
        ],
    ),
    "above_sma50 false": (
        {"above_sma50": "false"},
        [
            {"price": Decimal("100"), "sma_50": Decimal("100")},
            {"price": Decimal("80"), "sma_50": Decimal("90")},
        ],
        [
            {"price": Decimal("100"), "sma_50": Decimal("90")},
            {"price": Decimal("100"), "sma_50": None},
        ],
    ),
    "above_sma50 1": (
        {"above_sma50": "1"},
        [{"price": Decimal("100"), "sma_50": Decimal("99.99")}],
        [{"price": Decimal("99.99"), "sma_50": Decimal("100")}],
    ),
    "above_sma50 no": (
        {"above_sma50": "No"},
        [{"price": Decimal("99.99"), "sma_50": Decimal("100")}],
        [{"price": Decimal("100"), "sma_50": Decimal("99.99")}],
    ),
    "above_sma200 true": (
        {"above_sma200": "true"},
        [{"price": Decimal("100"), "sma_50": Decimal("200"), "sma_200": Decimal("90")}],
        [
            {"price": Decimal("100"), "sma_50": Decimal("90"), "sma_200": Decimal("100")},
            {"price": Decimal("100"), "sma_200": None},
        ],
    ),
    "above_sma200 false": (
        {"above_sma200": "false"},
        [{"price": Decimal("100"), "sma_50": Decimal("90"), "sma_200": Decimal("100")}],
        [
            {"price": Decimal("100"), "sma_50": Decimal("200"), "sma_200": Decimal("90")},
            {"price": Decimal("100"), "sma_200": None},
        ],
    ),
    "near_52w_high number": (
        {"near_52w_high": "5"},
        [
            {"price": Decimal("95"), "week52_high": Decimal("100")},
            {"price": Decimal("100"), "week52_high": Decimal("100")},
        ],
        [
            {"price": Decimal("94.99"), "week52_high": Decimal("100")},
            {"price": Decimal("100"), "week52_high": None},
        ],
    ),
    "near_52w_high 1 is one percent": (
        {"near_52w_high": "1"},
        [{"price": Decimal("99"), "week52_high": Decimal("100")}],
        [{"price": Decimal("97"), "week52_high": Decimal("100")}],
    ),
    "near_52w_high true is five percent": (
        {"near_52w_high": "true"},
        [
            {"price": Decimal("95"), "week52_high": Decimal("100")},
            {"price": Decimal("99"), "week52_high": Decimal("100")},
        ],
        [
            {"price": Decimal("94.9"), "week52_high": Decimal("100")},
            {"price": Decimal("99"), "week52_high": None},
        ],
    ),
    "near_52w_high 0": (
        {"near_52w_high": "0"},
        [{"price": Decimal("100"), "week52_high": Decimal("100")}],
        [{"price": Decimal("99.99"), "week52_high": Decimal("100")}],
    ),
    "combined filters are ANDed": (
        {"sector": "Energy", "price_min": "50", "above_sma50": "true"},
        [{"sector": "Energy", "price": Decimal("60"), "sma_50": Decimal("55")}],
        [
            {"sector": "Utilities", "price": Decimal("60"), "sma_50": Decimal("55")},
            {"sector": "Energy", "price": Decimal("40"), "sma_50": Decimal("35")},
            {"sector": "Energy", "price": Decimal("60"), "sma_50": Decimal("65")},
        ],
    ),
}


@pytest.mark.parametrize("case", FILTER_CASES.values(), ids=FILTER_CASES.keys())
def test_screen_filter__selects_exactly_the_matching_stocks(api, case):
    """Each filter returns the rows that satisfy it (bounds inclusive) and none that do not."""
    query, hits, misses = case
    for i, fields in enumerate(hits):
        make(f"HIT{i}", **fields)
    for i, fields in enumerate(misses):
        make(f"MISS{i}", **fields)

    response = api.get(URL, {**query, "page_size": 100})

    assert set(tickers_of(response)) == {f"HIT{i}" for i in range(len(hits))}
    assert response.json()["count"] == len(hits)


@pytest.mark.parametrize(
    ("tickers", "expected"),
    [
        ("BRK-B", {"BRK.B"}),
        ("brk.b", {"BRK.B"}),
        ("brk/b", {"BRK.B"}),
        ("aapl, BRK-B ,msft", {"AAPL", "BRK.B", "MSFT"}),
        ("AAPL,aapl,AAPL", {"AAPL"}),
        ("AAPL,NOPE", {"AAPL"}),
        ("BRK", set()),
    ],
)
def test_screen_tickers__normalised_and_exact(api, tickers, expected):
    """tickers= normalises case and share-class separators, and matches whole tickers only."""
    for ticker in ("AAPL", "BRK.B", "BRK.A", "MSFT", "GOOG"):
        make(ticker)

    assert set(tickers_of(api.get(URL, {"tickers": tickers}))) == expected


def test_screen_tickers__combine_with_other_filters(api):
    """tickers= is ANDed with the other criteria."""
    make("AAPL", sector="Information Technology")
    make("XOM", sector="Energy")
    make("CVX", sector="Energy")

    response = api.get(URL, {"tickers": "AAPL,XOM", "sector": "Energy"})

    assert tickers_of(response) == ["XOM"]


def test_screen_empty_parameters__are_ignored(api):
    """An empty value means no filter, not a filter on the empty string."""
    make("AAA", sector="Energy")
    make("BBB", sector="")

    response = api.get(URL, {"sector": "", "price_min": "", "tickers": "", "above_sma50": ""})

    assert tickers_of(response) == ["AAA", "BBB"]


def test_screen_inactive__never_listed(api):
    """Inactive stocks appear under no filter, ordering or explicit ticker request."""
    make("LIVE", price=Decimal("10"))
    make("DEAD", price=Decimal("99999"), is_active=False)

    assert tickers_of(api.get(URL)) == ["LIVE"]
    assert tickers_of(api.get(URL, {"tickers": "DEAD,LIVE"})) == ["LIVE"]
    assert tickers_of(api.get(URL, {"ordering": "-price"})) == ["LIVE"]
    assert tickers_of(api.get(URL, {"price_min": "1000"})) == []
    assert api.get(URL).json()["count"] == 1


# --- ordering -----------------------------------------------------------------------------

ROW_TICKERS = ("MM", "BB", "ZZ", "AA", "QQ", "CC", "DD")
# Rows 0 and 3 tie on value, rows 2 and 5 are NULL, so both tiebreaks are exercised.
VALUES = {
    "decimal": [Decimal(v) if v else None for v in ("10.5", "3", None, "10.5", "-2", None, "7")],
    "float": [1.5, -3.25, None, 1.5, 0.0, None, 12.0],
    "integer": [500, 10, None, 500, 0, None, 3_000_000_000_000],
}
KIND = {
    "price": "decimal", "change": "decimal", "change_percent": "float", "volume": "integer",
    "avg_volume_30d": "integer", "market_cap": "integer", "pe_ratio": "float",
    "dividend_yield": "float", "beta": "float", "rsi_14": "float", "volatility_30d": "float",
}  # fmt: skip
NAMES = [
    "Delta Corp",
    "Alpha Inc",
    "Charlie Co",
    "Alpha Inc",
    "Bravo Ltd",
    "Echo Plc",
    "Delta Corp",
]


def expected_order(rows: list[tuple[str, object]], descending: bool) -> list[str]:
    """The contract: by value (nulls last either way), ties by ticker in the same direction."""
    present = sorted((value, ticker) for ticker, value in rows if value is not None)
    nulls = sorted(ticker for ticker, value in rows if value is None)
    if descending:
        present.reverse()
        nulls.reverse()
    return [ticker for _, ticker in present] + nulls


def ordering_rows(field: str) -> list[tuple[str, object]]:
    if field == "ticker":
        return [(t, t) for t in ROW_TICKERS]
    values = NAMES if field == "name" else VALUES[KIND[field]]
    return list(zip(ROW_TICKERS, values, strict=True))


def test_ordering_fields__all_covered():
    """The ordering table below covers every whitelisted field."""
    assert set(ORDERING_FIELDS) == {"ticker", "name", *KIND}


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("field", ORDERING_FIELDS)
def test_screen_ordering__sorts_nulls_last_ties_by_ticker(api, field, descending):
    """Each ordering sorts by its field, NULLs last in both directions, ties by ticker."""
    rows = ordering_rows(field)
    for ticker, value in rows:
        make(ticker, **({} if field == "ticker" else {field: value}))
    make("AAAA", is_active=False, **({} if field == "ticker" else {field: rows[1][1]}))

    ordering = f"-{field}" if descending else field
    response = api.get(URL, {"ordering": ordering, "page_size": 100})

    assert tickers_of(response) == expected_order(rows, descending)


def test_screen_ordering__default_is_ticker(api):
    """Without ordering= the list is by ticker ascending."""
    for ticker in ("MSFT", "AAPL", "BRK.B", "BRK", "A"):
        make(ticker)

    assert tickers_of(api.get(URL)) == ["A", "AAPL", "BRK", "BRK.B", "MSFT"]


# --- sparse fields --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        ("ticker",),
        ("ticker", "price"),
        ("name", "change_percent", "as_of", "is_stale"),
        LIST_FIELDS,
    ],
)
def test_screen_fields__returns_only_those_keys(api, fields):
    """fields= gives rows with the asked-for keys, and as_of and is_stale, which every row has."""
    make("AAA")
    make("BBB")

    response = api.get(URL, {"fields": ",".join(fields)})

    rows = response.json()["results"]
    assert len(rows) == 2
    assert all(set(row) == {*fields, "as_of", "is_stale"} for row in rows)


def test_screen_fields__values_match_full_rows(api):
    """A sparse row carries the same values as the full row."""
    make("AAA", price=Decimal("12.3400"), market_cap=123)

    full = api.get(URL).json()["results"][0]
    sparse = api.get(URL, {"fields": " price , as_of,market_cap,is_stale "}).json()["results"][0]

    assert sparse == {k: full[k] for k in ("price", "as_of", "market_cap", "is_stale")}


def test_screen_fields__default_is_every_list_field(api):
    """Without fields= a row has every list field, as_of and is_stale included."""
    make("AAA")

    row = api.get(URL).json()["results"][0]

    assert set(row) == set(LIST_FIELDS)


@pytest.mark.parametrize("fields", ["bogus", "ticker,bogus", "eps", "sma_20", "is_active", "id"])
def test_screen_fields__unknown_is_400(api, fields):
    """A field outside the list set is refused with 400 naming fields."""
    make("AAA")

    assert_invalid(api.get(URL, {"fields": fields}), "fields")


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("price_min", "abc"),
        ("price_max", "12abc"),
        ("pe_min", "NaN"),
        ("pe_max", "nan"),
        ("beta_min", "Infinity"),
        ("beta_max", "-Infinity"),
        ("rsi_min", "inf"),
        ("market_cap_min", "1e400"),
        ("volume_min", "1e400"),
        ("change_percent_min", "-1e400"),
        ("price_min", "1e18"),
        ("price_max", "-1000000000000000000.5"),
        ("avg_volume_min", "0x10"),
        ("volume_min", "1e20"),
        ("ordering", "bogus"),
        ("ordering", "eps"),
        ("ordering", "--price"),
        ("ordering", "+price"),
        ("above_sma50", "maybe"),
        ("above_sma50", "2"),
        ("above_sma200", "truee"),
        ("near_52w_high", "abc"),
        ("near_52w_high", "101"),
        ("near_52w_high", "-1"),
        ("near_52w_high", "NaN"),
        ("tickers", "AAPL,$$$"),
        ("tickers", "AAPL,TOOLONGTICKER1234"),
        ("tickers", "AAPL,.B"),
        ("tickers", "AAPL,BRK B"),
        ("tickers", "AAPL%"),
        ("tickers", "%(x)s"),
        ("tickers", "100%,%d"),
        ("rsi_min", "150"),
        ("rsi_max", "-5"),
        ("tickers", "A," * (TICKERS_MAX_LENGTH // 2) + "B"),
        ("tickers", "STRA\u00dfE"),  # "ß".upper() is "SS": ASCII only
        ("tickers", "\uff21APL"),  # a fullwidth A
        ("sector", "x" * 65),
        ("sector", "Energy\x00"),
    ],
)
def test_screen_invalid__400_naming_the_parameter(api, parameter, value):
    """Bad input is a 400 with the JSON error body and the parameter in details."""
    make("AAPL")

    assert_invalid(api.get(URL, {parameter: value}), parameter)


def test_screen_invalid__every_bad_parameter_reported(api):
    """Several bad parameters are all named in one 400."""
    response = api.get(URL, {"price_min": "x", "ordering": "x", "above_sma50": "x"})

    assert_invalid(response, "price_min")
    assert {"price_min", "ordering", "above_sma50"} <= set(response.json()["error"]["details"])


def test_screen_tickers__the_limit_is_the_length_of_the_text(api):
    """A comma list of exactly TICKERS_MAX_LENGTH characters is accepted (500 tickers of up to
    seven characters fit)."""
    make("T499")
    text = ",".join(f"T{i}" for i in range(500))
    text += "," * (TICKERS_MAX_LENGTH - len(text))

    response = api.get(URL, {"tickers": text})

    assert tickers_of(response) == ["T499"]


@pytest.mark.parametrize(
    ("param", "column", "text"),
    [("price_min", "price", "10.00000001"), ("price_max", "price", "10.99999999"),
     ("price_min", "price", "10.00009999999999"), ("volume_min", "volume", "1000.000001"),
     ("volume_min", "volume", "1000.5"), ("market_cap_max", "market_cap", "2000000000.9")],
)  # fmt: skip
def test_screen_numbers__exact_whatever_their_decimals(api, param, column, text):
    """On the exact columns the rounded bound selects exactly the rows the bound as written
    does, compared in exact decimals."""
    for n, (price, volume) in enumerate([("10.0000", 1000), ("10.0001", 1001), ("10.9999", 10),
                                         ("11.0000", 5)]):  # fmt: skip
        make(f"T{n}", price=Decimal(price), volume=volume, market_cap=2 * 10**9 + n - 1)
    compare = (lambda v: v >= Decimal(text)) if param.endswith("_min") else (
        lambda v: v <= Decimal(text))  # fmt: skip
    expected = sorted(s.ticker for s in Stock.objects.all() if compare(getattr(s, column)))

    assert tickers_of(api.get(URL, {param: text})) == expected
    assert 0 < len(expected) < 4


@pytest.mark.parametrize(
    ("given", "same_as"),
    [
        ({"price_min": "10.00001"}, {"price_min": "10.0001"}),  # prices: 4 decimals
        ({"price_max": "10.99999"}, {"price_max": "10.9999"}),
        ({"price_min": "9.99999999999999999999"}, {"price_min": "10"}),
        ({"volume_min": "1000.5"}, {"volume_min": "1001"}),  # volumes: whole numbers
        ({"market_cap_max": "2e9"}, {"market_cap_max": "2000000000"}),
        ({"pe_min": "15.0000000000000000001"}, {"pe_min": "15"}),  # ratios: the nearest double
        ({"near_52w_high": "5.0000004"}, {"near_52w_high": "5"}),  # 6 decimals
    ],
)
def test_screen_numbers__read_as_the_column_holds_them(api, given, same_as):
    """Any number below 10^18 is taken, whatever its decimals: more than its column holds are
    read as exactly as the column can be compared (a bound rounded inward), so the rows are
    the rows of the rounded bound, and so are the links."""
    for n, (price, volume) in enumerate([("10.0000", 1000), ("10.0001", 1001), ("10.9999", 10),
                                         ("11.0000", 5)]):  # fmt: skip
        make(f"T{n}", price=Decimal(price), volume=volume, market_cap=2 * 10**9 + n - 1,
             pe_ratio=15 + n, week52_high=Decimal("10.5"))  # fmt: skip

    response = api.get(URL, given)
    expected = api.get(URL, same_as)

    assert response.status_code == expected.status_code == 200
    assert response.json() == expected.json()


def test_screen_unknown_parameter__ignored(api):
    """A parameter the screen does not know is ignored, not an error."""
    make("AAA")

    assert tickers_of(api.get(URL, {"utm_source": "newsletter"})) == ["AAA"]


# --- queries ------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [5, 60])
def test_screen_queries__count_and_page_only(api, sql_screen, django_assert_num_queries, rows):
    """On SQL a page costs three queries (count, page ids, rows) however many rows it has."""
    for i in range(rows):
        make(f"T{i:03d}")

    with django_assert_num_queries(3):
        response = api.get(URL, {"page_size": rows, "ordering": "-change_percent"})

    assert len(response.json()["results"]) == rows


def test_screen_queries__filters_add_no_queries(api, sql_screen, django_assert_num_queries):
    """Filters and ordering are part of the same three queries."""
    for i in range(10):
        make(f"T{i}", sector="Energy", price=Decimal("100"), week52_high=Decimal("101"))

    with django_assert_num_queries(3):
        response = api.get(
            URL,
            {"sector": "Energy", "price_min": "1", "above_sma50": "true", "tickers": "T1,T2,T3",
             "near_52w_high": "true", "ordering": "-pe_ratio"},
        )  # fmt: skip

    assert tickers_of(response) == ["T3", "T2", "T1"]


def _column_read(sql: str, column: str) -> bool:
    return re.search(rf"[`\"]{column}[`\"]", sql) is not None


def test_screen_queries__reads_only_list_columns(api, sql_screen):
    """The page query selects the list columns, not detail-only ones such as eps or sma_20."""
    make("AAA")

    with CaptureQueriesContext(connection) as queries:
        response = api.get(URL)

    assert response.status_code == 200
    page_sql = queries.captured_queries[-1]["sql"]
    assert _column_read(page_sql, "price")
    for detail_only in ("eps", "sma_20", "open", "day_high", "day_low", "previous_close"):
        assert not _column_read(page_sql, detail_only), detail_only


def test_screen_queries__sparse_fields_read_fewer_columns(api, sql_screen):
    """fields= narrows the columns read to those it needs."""
    make("AAA")

    with CaptureQueriesContext(connection) as queries:
        response = api.get(URL, {"fields": "ticker,as_of"})

    assert response.status_code == 200
    page_sql = queries.captured_queries[-1]["sql"]
    assert _column_read(page_sql, "quote_time")
    for unused in ("name", "price", "market_cap", "sector", "eps"):
        assert not _column_read(page_sql, unused), unused


@pytest.mark.parametrize("rows", [5, 60])
def test_screen_queries__engine_answers_without_queries(api, django_assert_num_queries, rows):
    """Once the snapshot of the data version is built, a screen page costs no query."""
    for i in range(rows):
        make(f"T{i:03d}", sector="Energy")
    # (On MySQL the first exact match of a string asks the database which spellings its
    # collation counts as equal, once per snapshot.)
    warm = api.get(URL, {"page_size": 1, "sector": "Energy"})
    assert warm["X-Screen-Engine"] == "numpy"

    with django_assert_num_queries(0):
        response = api.get(
            URL, {"page_size": rows, "sector": "Energy", "price_min": "1", "ordering": "-pe_ratio"}
        )

    assert response["X-Screen-Engine"] == "numpy"
    assert len(response.json()["results"]) == rows


def test_screen_engine__a_write_is_seen_at_once(api):
    """A saved change moves the data version, so the next screen is built from new data."""
    make("AAA", price=Decimal("10"))
    assert tickers_of(api.get(URL, {"price_min": "20"})) == []

    Stock.objects.filter(ticker="AAA").update(price=Decimal("25"))

    assert tickers_of(api.get(URL, {"price_min": "20"})) == ["AAA"]


def test_screen_engine__sql_setting_switches_it_off(api, settings):
    """SCREEN_ENGINE=sql: every screen is answered by the database."""
    settings.SCREEN_ENGINE = "sql"
    make("AAA")

    response = api.get(URL)

    assert response["X-Screen-Engine"] == "sql"
    assert tickers_of(response) == ["AAA"]


def test_screen_fields__key_order_is_the_order_asked(api):
    """A sparse row keeps the order of fields= (so its bytes do not depend on the engine)."""
    make("AAA")

    for engine in ("numpy", "sql"):
        with override_settings(SCREEN_ENGINE=engine, RESPONSE_CACHE_ENABLED=False):
            row = api.get(URL, {"fields": "is_stale,ticker,as_of"}).json()["results"][0]
        assert list(row) == ["is_stale", "ticker", "as_of"], engine


@pytest.mark.parametrize("value", ["Energy ", " Energy", "\tEnergy\n"])
def test_screen_exact_filters__surrounding_space_ignored(api, value):
    """An exact filter's value is trimmed, as a form field would."""
    make("AAA", sector="Energy")
    make("BBB", sector="Utilities")

    assert tickers_of(api.get(URL, {"sector": value})) == ["AAA"]


def test_screen_exact_filters__blank_is_no_filter(api):
    """A value of spaces only is no filter at all."""
    make("AAA", sector="Energy")

    assert tickers_of(api.get(URL, {"sector": "  ", "exchange": " "})) == ["AAA"]


def test_screen_parse__remembered_for_short_query_strings_only(api):
    """A short query string's parse is remembered (a cached screen parses nothing twice); a
    long one (many tickers) is parsed each time; a refused one is refused each time."""
    from stocks.screen import params

    params._remembered.cache_clear()
    make("AAPL")
    for _ in range(3):
        assert tickers_of(api.get(URL, {"ordering": "-price"})) == ["AAPL"]
    assert params._remembered.cache_info().hits == 2

    long_query = {"tickers": ",".join(f"T{n}" for n in range(200)) + ",AAPL"}
    assert tickers_of(api.get(URL, long_query)) == ["AAPL"]
    for _ in range(2):
        assert_invalid(api.get(URL, {"price_min": "x"}), "price_min")
    info = params._remembered.cache_info()
    assert (info.currsize, info.hits) == (1, 2)  # the long one and the refusals: not kept
