"""Ranked search: GET /api/stocks/search/, and the text functions behind it."""

from __future__ import annotations

import pytest

from stocks.search import allowed_typos, edit_distance, fuzzy_terms, name_terms, words
from stocks.tickers import InvalidTicker, normalize_ticker

URL = "/api/stocks/search/"
BILLION = 1_000_000_000

# (ticker, name, market cap): a small real-looking universe for the ranking tests.
UNIVERSE = [
    ("A", "Agilent Technologies Inc", 40 * BILLION),
    ("AA", "Alcoa Corp", 8 * BILLION),
    ("AAL", "American Airlines Group Inc", 10 * BILLION),
    ("AAPL", "Apple Inc", 3000 * BILLION),
    ("F", "Ford Motor Company", 45 * BILLION),
    ("FDX", "FedEx Corp", 60 * BILLION),
    ("BRK.A", "Berkshire Hathaway Inc Class A", 450 * BILLION),
    ("BRK.B", "Berkshire Hathaway Inc Class B", 900 * BILLION),
    ("BF.B", "Brown-Forman Corp", 20 * BILLION),
    ("BAC", "Bank of America Corp", 300 * BILLION),
    ("BK", "Bank of New York Mellon Corp", 50 * BILLION),
    ("EL", "Estée Lauder Companies Inc", 30 * BILLION),
    ("MSFT", "Microsoft Corp", 3100 * BILLION),
    ("MU", "Micron Technology Inc", 100 * BILLION),
]

# One query ("cat") that reaches every tier, with sizes that differ from ticker order.
CAT_UNIVERSE = [
    ("CAT", "Caterpillar Inc", 150 * BILLION),  # exact ticker
    ("CATO", "Cato Corp", 1 * BILLION),  # ticker prefix (and a name prefix: no duplicate)
    ("CATY", "Cathay General Bancorp", 3 * BILLION),  # ticker prefix, larger
    ("CPRX", "Catalyst Pharmaceuticals Inc", 2 * BILLION),  # name word prefix
    ("CTLT", "Catalent Inc", 10 * BILLION),  # name word prefix, larger
    ("CBT", "Cab Corp", 1 * BILLION),  # fuzzy: the word "cab" is one edit from "cat"
    ("CRTH", "Cart Holdings Inc", 5 * BILLION),  # fuzzy: "car" is one edit from "cat", larger
    ("KO", "Coca-Cola Co", 250 * BILLION),  # no match: every word is two edits away
    # No match: a 3-letter query is compared with whole words only, not with the first
    # three letters of longer ones ("cab" of "cabot"), which would match nearly anything.
    ("CBOT", "Cabot Microelectronics", 20 * BILLION),
]


@pytest.fixture
def universe(stock_factory):
    return {
        ticker: stock_factory(ticker=ticker, name=name, market_cap=cap)
        for ticker, name, cap in UNIVERSE
    }


@pytest.fixture
def cat_universe(stock_factory):
    return {
        ticker: stock_factory(ticker=ticker, name=name, market_cap=cap)
        for ticker, name, cap in CAT_UNIVERSE
    }


def search(api, q, **params):
    response = api.get(URL, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def hits(api, q, **params) -> list[tuple[str, str]]:
    """(ticker, match) of each result, in order."""
    return [(row["ticker"], row["match"]) for row in search(api, q, **params)["results"]]


def tickers(api, q, **params) -> list[str]:
    return [ticker for ticker, _ in hits(api, q, **params)]


# --- ranking ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_search__ranks_exact_then_ticker_prefix_then_name_prefix_then_fuzzy(api, cat_universe):
    """Tiers come best first, each ordered by market cap, and each hit names its tier."""
    assert hits(api, "cat") == [
        ("CAT", "exact_ticker"),
        ("CATY", "ticker_prefix"),
        ("CATO", "ticker_prefix"),
        ("CTLT", "name_prefix"),
        ("CPRX", "name_prefix"),
        ("CRTH", "fuzzy"),
        ("CBT", "fuzzy"),
    ]


@pytest.mark.django_db
def test_search__response_shape(api, cat_universe):
    """The body echoes the query, counts the results, and rows carry the list fields."""
    body = search(api, "  cat ")
    assert body["query"] == "cat"
    assert body["count"] == len(body["results"]) == 7
    first = body["results"][0]
    assert first["ticker"] == "CAT"
    assert first["name"] == "Caterpillar Inc"
    assert first["market_cap"] == 150 * BILLION
    assert {"as_of", "is_stale", "price", "sector"} <= set(first)


@pytest.mark.django_db
def test_search__within_a_tier_larger_market_cap_first(api, stock_factory):
    """Name matches are ordered by market cap, unknown market caps last, then by ticker."""
    stock_factory(ticker="ZZA", name="Orbit Small", market_cap=1 * BILLION)
    stock_factory(ticker="ZZB", name="Orbit Large", market_cap=90 * BILLION)
    stock_factory(ticker="ZZC", name="Orbit Unknown", market_cap=None)
    stock_factory(ticker="ZZD", name="Orbit Middle", market_cap=5 * BILLION)
    stock_factory(ticker="ZZE", name="Orbit Middle Twin", market_cap=5 * BILLION)

    assert tickers(api, "orbit") == ["ZZB", "ZZD", "ZZE", "ZZA", "ZZC"]


@pytest.mark.django_db
def test_search__no_stock_appears_twice(api, cat_universe, universe):
    """A stock matching several tiers is listed once, in its best tier."""
    result = hits(api, "a", limit=50)
    found = [ticker for ticker, _ in result]
    assert len(found) == len(set(found))
    assert dict(result)["AA"] == "ticker_prefix"  # also a name prefix ("Alcoa")


@pytest.mark.django_db
def test_search__name_prefix_finds_stocks_whose_ticker_does_not_match(api, universe):
    """'apple' is not a ticker of anything, but it is a word of Apple Inc's name."""
    assert hits(api, "apple") == [("AAPL", "name_prefix")]


# --- short and dotted tickers --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("A", ["A", "AAPL", "AAL", "AA"]),
        ("a", ["A", "AAPL", "AAL", "AA"]),
        ("AA", ["AA", "AAPL", "AAL"]),
        ("F", ["F", "FDX"]),
        ("f", ["F", "FDX"]),
    ],
)
def test_search__short_tickers_by_exact_and_prefix(api, universe, query, expected):
    """One- and two-letter tickers are found exactly first, then the longer tickers they start."""
    result = hits(api, query, limit=50)
    assert [t for t, _ in result[: len(expected)]] == expected
    assert result[0][1] == "exact_ticker"
    assert {match for _, match in result[1 : len(expected)]} == {"ticker_prefix"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("BRK.B", "BRK.B"),
        ("brk.b", "BRK.B"),
        ("brk-b", "BRK.B"),
        ("BRK/B", "BRK.B"),
        ("BF-B", "BF.B"),
        ("bf.b", "BF.B"),
    ],
)
def test_search__share_class_spellings_find_the_dot_ticker(api, universe, query, expected):
    """BRK-B, brk.b and BRK/B all name the stored BRK.B, as an exact ticker match."""
    assert hits(api, query)[0] == (expected, "exact_ticker")


@pytest.mark.django_db
def test_search__ticker_prefix_reaches_share_classes(api, universe):
    """'BRK' lists both Berkshire share classes, the larger first."""
    assert hits(api, "brk")[:2] == [("BRK.B", "ticker_prefix"), ("BRK.A", "ticker_prefix")]


# --- names --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_search__multi_word_name_prefix(api, universe):
    """Every query word must start some word of the name: 'bank of am' is Bank of America."""
    assert hits(api, "bank of am") == [("BAC", "name_prefix")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [("s&p global", ["SPGI"]), ("at&t", ["T"]), ("s&p", ["SPGI"])],
)
def test_search__one_letter_words_must_be_whole_name_words(api, stock_factory, query, expected):
    """Beside a longer word, a one-letter word matches a whole name word, not a prefix."""
    for ticker, name, cap in [
        ("SPGI", "S&P Global Inc", 150 * BILLION),
        ("GPN", "Global Payments Inc", 30 * BILLION),  # "global", but no "s" or "p"
        ("SBUX", "Starbucks Corp", 100 * BILLION),  # an "s" word, not the word "s"
        ("T", "AT&T Inc", 200 * BILLION),
        ("ATO", "Atmos Energy Corp", 20 * BILLION),  # "at" prefix, but no word "t"
    ]:
        stock_factory(ticker=ticker, name=name, market_cap=cap)
    assert tickers(api, query) == expected


def test_search__multi_word_name_prefix__several_matches_by_size(api, universe):
    """'Bank of' matches both banks, the larger first."""
    assert tickers(api, "Bank of") == ["BAC", "BK"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["Estee", "estée", "ESTÉE LAUDER", "lauder est"])
def test_search__accents_are_folded(api, universe, query):
    """The query and the indexed name are compared without accents or case."""
    assert hits(api, query)[0] == ("EL", "name_prefix")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("mircosoft", "MSFT"),  # transposition
        ("microsfot", "MSFT"),  # transposition at the end
        ("berkshre", "BRK.B"),  # deletion
        ("berkshire hathawy", "BRK.B"),  # a typo in the second word
        ("Estey", "EL"),  # substitution, accent folded
    ],
)
def test_search__typos_are_found_as_fuzzy(api, universe, query, expected):
    """A name word within the allowed edit distance is a fuzzy match."""
    result = hits(api, query)
    assert result[0] == (expected, "fuzzy")
    assert {match for _, match in result} == {"fuzzy"}


@pytest.mark.django_db
def test_search__fuzzy_with_short_word_in_query(api, universe):
    """A short word that cannot carry a typo still matches exactly next to a misspelt one."""
    assert hits(api, "bank of amrica") == [("BAC", "fuzzy")]


@pytest.mark.django_db
def test_search__fuzzy_short_word_must_not_be_misspelt(api, universe):
    """A two-letter word tolerates no typo, even next to a misspelt long word."""
    assert hits(api, "bank oz amrica") == []


@pytest.mark.django_db
def test_search__fuzzy_keeps_market_cap_order(api, universe):
    """Fuzzy hits are ordered by market cap too: both Berkshire classes, class B first."""
    assert tickers(api, "berkshre") == ["BRK.B", "BRK.A"]


@pytest.mark.django_db
def test_search__unrelated_query_finds_nothing(api, universe):
    """A query far from every ticker and name gives an empty list, not an error."""
    body = search(api, "xylophone")
    assert body == {"query": "xylophone", "count": 0, "results": []}


@pytest.mark.django_db
def test_search__punctuation_only_query_finds_nothing(api, universe):
    """A query with no ticker and no word in it is answered with no results."""
    assert search(api, "!!!")["results"] == []


# --- limit --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [1, 3, 6])
def test_search__limit_respected(api, cat_universe, limit):
    """``limit`` cuts the ranked list, keeping the best hits."""
    full = tickers(api, "cat")
    assert tickers(api, "cat", limit=limit) == full[:limit]


@pytest.mark.django_db
def test_search__limit_defaults_to_10(api, stock_factory):
    """Without ``limit`` at most ten hits are returned."""
    for n in range(12):
        stock_factory(ticker=f"QQ{n}", name=f"Quill Number {n}")
    assert len(tickers(api, "QQ")) == 10


@pytest.mark.django_db
def test_search__limit_50_is_allowed(api, stock_factory):
    """The maximum limit is 50."""
    for n in range(55):
        stock_factory(ticker=f"QQ{n}", name=f"Quill Number {n}")
    assert len(tickers(api, "quill", limit=50)) == 50


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["51", "0", "-1", "ten", "1.5"])
def test_search__limit_out_of_range_is_400(api, universe, limit):
    """A limit outside 1..50, or not a whole number, is a 400 naming ``limit``."""
    response = api.get(URL, {"q": "a", "limit": limit})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400
    assert error["code"] == "invalid"
    assert "limit" in error["details"]


# --- bad queries --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"limit": "5"}])
def test_search__missing_or_empty_q_is_400(api, universe, params):
    """No query is a 400 with the JSON error body pointing at ``q``."""
    response = api.get(URL, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["status"] == 400
    assert error["code"] == "invalid"
    assert "q" in error["details"]
    assert error["message"]
    assert "request_id" in error


@pytest.mark.django_db
def test_search__overlong_q_is_400(api, universe):
    """A query longer than 100 characters is refused."""
    response = api.get(URL, {"q": "a" * 101})
    assert response.status_code == 400
    assert "q" in response.json()["error"]["details"]


# --- active only, query count -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [("OLDCO", []), ("OLD", ["OLDX"]), ("obsolete", ["OLDX"]), ("obsolite", ["OLDX"])],
)
def test_search__inactive_stocks_never_returned(api, stock_factory, query, expected):
    """A delisted stock is not found by ticker, ticker prefix, name or fuzzy match."""
    stock_factory(ticker="OLDCO", name="Obsolete Holdings", is_active=False)
    stock_factory(ticker="OLDX", name="Obsolete Partners", market_cap=None)
    assert tickers(api, query) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["cat", "A", "bank of am", "berkshire hathawy", "mircosoft"])
def test_search__query_count_bounded(
    api, universe, cat_universe, django_assert_max_num_queries, query
):
    """Search costs a handful of queries whatever it finds."""
    with django_assert_max_num_queries(10):
        response = api.get(URL, {"q": query, "limit": 50})
    assert response.status_code == 200
    assert response.json()["count"] > 0


@pytest.mark.django_db
def test_search__query_count_independent_of_result_size(
    api, stock_factory, django_assert_max_num_queries
):
    """Fifty hits cost no more queries than one."""
    for n in range(60):
        stock_factory(ticker=f"QQ{n}", name=f"Quill Number {n}")
    with django_assert_max_num_queries(10):
        body = api.get(URL, {"q": "quil", "limit": 50}).json()
    assert body["count"] == 50


# --- stocks.search ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Estée Lauder Cos., Inc.", ["estee", "lauder", "cos", "inc"]),
        ("Coca-Cola Co", ["coca", "cola", "co"]),
        ("AT&T Inc.", ["at", "t", "inc"]),
        ("3M Company", ["3m", "company"]),
        ("L'Oréal  S.A.", ["l", "oreal", "s", "a"]),
        ("Nestlé", ["nestle"]),
        ("  ", []),
        ("—!?", []),
    ],
)
def test_words__folds_accents_and_drops_punctuation(text, expected):
    """words() lower-cases, folds accents to ASCII and splits on anything not a letter/digit."""
    assert words(text) == expected


def test_words__truncates_long_words():
    """A word longer than a search term column is cut to 64 characters."""
    assert words("x" * 100) == ["x" * 64]


def test_name_terms__distinct():
    """A repeated word is indexed once."""
    assert name_terms("Bank of the Bank") == {"bank", "of", "the"}


@pytest.mark.parametrize(
    ("a", "b", "limit", "expected"),
    [
        ("microsoft", "microsoft", 2, 0),
        ("kitten", "sitting", 3, 3),
        ("berkshre", "berkshire", 2, 1),  # deletion
        ("berkshiire", "berkshire", 2, 1),  # insertion
        ("estey", "estee", 1, 1),  # substitution
        ("mircosoft", "microsoft", 2, 1),  # adjacent transposition counts as one edit
        ("ab", "ba", 1, 1),
        ("ca", "abc", 5, 3),  # optimal string alignment, not full Damerau
        ("", "abc", 3, 3),
        ("abc", "", 3, 3),
    ],
)
def test_edit_distance__values(a, b, limit, expected):
    """Levenshtein distance with adjacent transpositions as single edits."""
    assert edit_distance(a, b, limit) == expected


@pytest.mark.parametrize(
    ("a", "b", "limit"),
    [
        ("kitten", "sitting", 2),  # true distance 3
        ("abcdef", "uvwxyz", 2),  # far apart, same length: stops early
        ("ab", "abcdef", 2),  # length difference alone exceeds the limit
    ],
)
def test_edit_distance__beyond_limit_is_limit_plus_one(a, b, limit):
    """A distance over ``limit`` is reported as ``limit + 1``."""
    assert edit_distance(a, b, limit) == limit + 1


@pytest.mark.parametrize(
    ("word", "expected"), [("a", 0), ("ab", 0), ("abc", 1), ("abcde", 1), ("abcdef", 2)]
)
def test_allowed_typos__by_length(word, expected):
    """Under three letters no typo, up to five one, longer two."""
    assert allowed_typos(word) == expected


def test_fuzzy_terms__whole_word_typos():
    """Candidates within the allowed distance of the whole word are returned, in order."""
    candidates = ["microsoft", "micron", "microchip", "mirror", "msci"]
    assert fuzzy_terms("mircosoft", candidates) == ["microsoft"]
    # Six letters allow two edits, against the whole word or its same-length start.
    assert fuzzy_terms("micorn", candidates) == ["microsoft", "micron", "microchip"]


def test_fuzzy_terms__typo_in_a_partly_typed_word():
    """'mircos' is one transposition from 'micros', the start of 'microsoft'."""
    assert fuzzy_terms("mircos", ["microsoft", "mint"]) == ["microsoft"]


def test_fuzzy_terms__one_typo_for_short_words():
    """A three-to-five-letter word tolerates one edit, not two."""
    assert fuzzy_terms("bamk", ["bank", "bark", "bulk"]) == ["bank", "bark"]


def test_fuzzy_terms__very_short_word_needs_no_typo():
    """Words under three letters match no candidate by typo."""
    assert fuzzy_terms("ob", ["of", "oz"]) == []


# --- stocks.tickers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AAPL", "AAPL"),
        ("aapl", "AAPL"),
        ("  msft\n", "MSFT"),
        ("BRK.B", "BRK.B"),
        ("brk-b", "BRK.B"),
        ("BRK/B", "BRK.B"),
        ("bf-b", "BF.B"),
        ("A", "A"),
        ("3M", "3M"),
        ("X" * 16, "X" * 16),
    ],
)
def test_normalize_ticker__canonical_form(raw, expected):
    """Upper case, surrounding space dropped, share-class separator made a dot."""
    assert normalize_ticker(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", ".B", "-B", "BRK B", "BRK_B", "X" * 17, "ÄPL", "AAPL;", "bank of am"],
)
def test_normalize_ticker__invalid(raw):
    """Text that cannot be a ticker raises InvalidTicker (a ValueError)."""
    with pytest.raises(InvalidTicker):
        normalize_ticker(raw)
    assert issubclass(InvalidTicker, ValueError)


@pytest.mark.parametrize(("q", "status"), [("%EF%BB%BF", 400), ("%E3%80%80", 400), ("%1C", 200)])
def test_search__blank_is_the_schemas_blank(api, q, status):
    """q must hold something besides white space, as the schema's \\S says (U+FEFF and the
    ideographic space are white space; U+001C is not)."""
    assert api.get(f"/api/stocks/search/?q={q}").status_code == status
