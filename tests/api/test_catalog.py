"""The screen's catalog: GET /api/stocks/fields/."""

from __future__ import annotations

import pytest

from stocks.screen.fields import DEFAULT_ORDERING, FILTERS, ORDERING_FIELDS

pytestmark = pytest.mark.django_db

URL = "/api/stocks/fields/"


@pytest.fixture
def catalog(api):
    response = api.get(URL)
    assert response.status_code == 200
    return response.json()


def by_name(entries) -> dict[str, dict]:
    return {entry["name"]: entry for entry in entries}


def test_catalog__lists_every_filter_the_screen_accepts(catalog):
    """One entry per filter of the registry (ordering is listed separately)."""
    names = [entry["name"] for entry in catalog["filters"]]
    assert len(names) == len(set(names))
    assert set(names) == set(FILTERS)


def test_catalog__includes_the_documented_filters(catalog):
    """The filters promised in DESIGN.md are all there."""
    documented = {
        "tickers", "sector", "industry", "exchange", "country", "price_min", "price_max",
        "change_percent_min", "change_percent_max", "volume_min", "avg_volume_min",
        "market_cap_min", "market_cap_max", "pe_min", "pe_max", "dividend_yield_min",
        "beta_min", "beta_max", "rsi_min", "rsi_max", "above_sma50", "above_sma200",
        "near_52w_high",
    }  # fmt: skip
    assert documented <= set(by_name(catalog["filters"]))


def test_catalog__every_filter_has_name_type_unit_operator(catalog):
    """Each filter says what it takes and how it compares."""
    for entry in catalog["filters"]:
        assert {"name", "field", "type", "unit", "operator", "description"} <= set(entry)
        assert entry["type"] in {"number", "string", "boolean", "list[ticker]"}
        assert entry["operator"]
        assert entry["description"]


@pytest.mark.parametrize(
    ("name", "field", "type_", "unit", "operator"),
    [
        ("price_min", "price", "number", "USD", ">="),
        ("price_max", "price", "number", "USD", "<="),
        ("change_percent_min", "change_percent", "number", "percent", ">="),
        ("volume_min", "volume", "number", "shares", ">="),
        ("avg_volume_min", "avg_volume_30d", "number", "shares", ">="),
        ("market_cap_max", "market_cap", "number", "USD", "<="),
        ("pe_min", "pe_ratio", "number", "ratio", ">="),
        ("dividend_yield_min", "dividend_yield", "number", "percent", ">="),
        ("beta_max", "beta", "number", "ratio", "<="),
        ("rsi_min", "rsi_14", "number", "index (0-100)", ">="),
        ("sector", "sector", "string", None, "="),
        ("country", "country", "string", None, "="),
        ("tickers", "ticker", "list[ticker]", None, "in"),
    ],
)
def test_catalog__filter_details(catalog, name, field, type_, unit, operator):
    """Range filters map to their column with a unit; exact and list filters say so."""
    entry = by_name(catalog["filters"])[name]
    assert (entry["field"], entry["type"], entry["unit"], entry["operator"]) == (
        field,
        type_,
        unit,
        operator,
    )


def test_catalog__special_filters(catalog):
    """SMA and 52-week filters describe their comparison."""
    filters = by_name(catalog["filters"])
    assert filters["above_sma50"]["type"] == "boolean"
    assert "price" in filters["above_sma50"]["operator"]
    assert filters["near_52w_high"]["type"] == "number"
    assert filters["near_52w_high"]["unit"] == "percent"
    assert "week52_high" in filters["near_52w_high"]["operator"]


def test_catalog__lists_every_ordering_field(catalog):
    """Every field the list can be ordered by, in order, with the default and '-' for desc."""
    ordering = catalog["ordering"]
    assert [f["name"] for f in ordering["fields"]] == list(ORDERING_FIELDS)
    assert ordering["default"] == DEFAULT_ORDERING
    assert ordering["descending_prefix"] == "-"
    assert by_name(ordering["fields"])["market_cap"]["unit"] == "USD"


def test_catalog__ordering_fields_are_accepted_by_the_list(api, stock_factory, catalog):
    """Each advertised ordering, ascending and descending, is accepted by /api/stocks/."""
    stock_factory()
    for field in catalog["ordering"]["fields"]:
        for ordering in (field["name"], f"-{field['name']}"):
            assert api.get("/api/stocks/", {"ordering": ordering}).status_code == 200, ordering


def test_catalog__facets_with_counts(api, stock_factory):
    """Sectors, industries, exchanges and countries that exist, sorted, with stock counts."""
    stock_factory(sector="Energy", industry="Oil", exchange="NYSE", country="United States")
    stock_factory(sector="Energy", industry="Oil", exchange="NASDAQ", country="United States")
    stock_factory(sector="Energy", industry="Gas", exchange="NYSE", country="Canada")
    stock_factory(sector="Utilities", industry="Power", exchange="NYSE", country="United States")

    body = api.get(URL).json()

    assert body["sectors"] == [
        {"value": "Energy", "count": 3},
        {"value": "Utilities", "count": 1},
    ]
    assert body["industries"] == [
        {"value": "Gas", "count": 1},
        {"value": "Oil", "count": 2},
        {"value": "Power", "count": 1},
    ]
    assert body["exchanges"] == [{"value": "NASDAQ", "count": 1}, {"value": "NYSE", "count": 3}]
    assert body["countries"] == [
        {"value": "Canada", "count": 1},
        {"value": "United States", "count": 3},
    ]


def test_catalog__inactive_and_blank_not_counted(api, stock_factory):
    """Delisted stocks are not counted; a blank sector is not a sector."""
    stock_factory(sector="Energy", industry="Oil")
    stock_factory(sector="Energy", industry="Oil", is_active=False)
    stock_factory(sector="Materials", industry="Steel", is_active=False)
    stock_factory(sector="", industry="", exchange="", country="")

    body = api.get(URL).json()

    assert body["sectors"] == [{"value": "Energy", "count": 1}]
    assert body["industries"] == [{"value": "Oil", "count": 1}]
    assert body["exchanges"] == [{"value": "NYSE", "count": 1}]
    assert body["countries"] == [{"value": "United States", "count": 1}]


def test_catalog__empty_database(catalog):
    """With no stocks the filters are still listed and the facets are empty."""
    assert catalog["filters"]
    assert catalog["sectors"] == catalog["industries"] == []
    assert catalog["exchanges"] == catalog["countries"] == []


def test_catalog__query_count(api, stock_factory, django_assert_max_num_queries):
    """The catalog costs at most four queries, however many stocks there are."""
    for n in range(30):
        stock_factory(sector=f"Sector {n % 7}", industry=f"Industry {n}")
    with django_assert_max_num_queries(4):
        response = api.get(URL)
    assert response.status_code == 200
    assert len(response.json()["industries"]) == 30


def test_catalog__bounds_where_values_have_them(catalog):
    """RSI and near_52w_high say their 0-100 range; unbounded filters carry no bounds."""
    filters = by_name(catalog["filters"])

    for name in ("rsi_min", "rsi_max", "near_52w_high"):
        assert (filters[name]["minimum"], filters[name]["maximum"]) == (0, 100), name
    assert "minimum" not in filters["price_min"] and "maximum" not in filters["price_min"]
