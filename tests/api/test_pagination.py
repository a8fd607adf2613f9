"""Pagination of /api/stocks/: page numbers (default, cap, errors, links) and keyset cursors."""

from __future__ import annotations

import base64
import json
import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from stocks import data_version
from stocks.models import Stock
from stocks.screen.paging import CursorExpired, seal

from ..factories import StockFactory

pytestmark = pytest.mark.django_db

URL = "/api/stocks/"
ERROR_KEYS = {"status", "code", "message", "details", "request_id"}
MAX_PAGES = 200  # a walk longer than this is a loop, not a result


def bulk_stocks(count: int) -> list[str]:
    """``count`` active stocks in one INSERT (fast); returns their tickers in ticker order."""
    now = timezone.now()
    tickers = [f"T{i:04d}" for i in range(count)]
    Stock.objects.bulk_create(
        Stock(ticker=t, name=f"Company {t}", price=Decimal("10"), quote_time=now) for t in tickers
    )
    return tickers


def tickers_of(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["ticker"] for row in response.json()["results"]]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS
    assert (error["status"], error["code"]) == (status, code)
    assert error["request_id"] == response["X-Request-ID"]
    return error


def encode_cursor(payload) -> str:
    """
    A cursor with any payload, signed as ours are: the checks behind the signature. A dict
    without a data version ("d") gets None (the cache could not tell), which every version
    accepts.
    """
    return seal({"d": None, **payload} if isinstance(payload, dict) else payload)


def unsigned_cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


# --- page mode ----------------------------------------------------------------------------


def test_page_size__defaults_to_50(api):
    """Without page_size a page holds 50 rows; count is the whole result."""
    tickers = bulk_stocks(51)

    body = api.get(URL).json()

    assert [row["ticker"] for row in body["results"]] == tickers[:50]
    assert body["count"] == 51
    assert body["previous"] is None
    assert body["next"] is not None


@pytest.mark.parametrize(
    "page_size",
    ["501", "100000", "99999999999999999999", pytest.param("9" * 5000, id="5000-digits")],
)
def test_page_size__capped_at_500(api, page_size):
    """A page_size above the cap is served at 500 rows, not refused."""
    tickers = bulk_stocks(501)

    response = api.get(URL, {"page_size": page_size})

    assert tickers_of(response) == tickers[:500]
    assert response.json()["count"] == 501
    assert response.json()["next"] is not None


def test_page_size__500_exactly(api):
    """page_size=500 is allowed as asked."""
    bulk_stocks(501)

    assert len(tickers_of(api.get(URL, {"page_size": 500}))) == 500


@pytest.mark.parametrize("page_size", ["1", "7", "0007"])
def test_page_size__honoured(api, page_size):
    """A page_size under the cap gives that many rows."""
    tickers = bulk_stocks(10)

    assert tickers_of(api.get(URL, {"page_size": page_size})) == tickers[: int(page_size)]


@pytest.mark.parametrize("parameter", ["page_size", "page"])
@pytest.mark.parametrize(
    "value",
    [
        "0", "-1", "abc", "1.5", "1e3", "+5", " 5", "0x10", "last",
        pytest.param("\u00b2", id="superscript-two"),
        pytest.param("\u0663", id="arabic-indic-three"),
        pytest.param("0" * 5000, id="5000-zeros"),
    ],
)  # fmt: skip
def test_page_parameters__not_a_positive_integer_is_400(api, parameter, value):
    """page and page_size must be positive whole numbers written in ASCII digits."""
    bulk_stocks(3)

    error = assert_error(api.get(URL, {parameter: value}), 400, "invalid")

    assert parameter in error["details"]


def test_page__past_the_end_is_404(api):
    """A page after the last one is a 404 with the JSON error body."""
    bulk_stocks(5)

    assert tickers_of(api.get(URL, {"page": 3, "page_size": 2})) == ["T0004"]
    assert_error(api.get(URL, {"page": 4, "page_size": 2}), 404, "not_found")


@pytest.mark.parametrize(
    "page", ["2", "99999999999999999999", pytest.param("9" * 5000, id="5000-digits")]
)
def test_page__far_past_the_end_is_404(api, page):
    """However large the page number, past the end is a 404, never a 500."""
    bulk_stocks(1)

    assert_error(api.get(URL, {"page": page}), 404, "not_found")


def test_page__empty_result_first_page_is_200(api):
    """An empty screen still has a first page."""
    bulk_stocks(2)

    body = api.get(URL, {"sector": "Nothing"}).json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_page_links__walk_forward_and_back(api):
    """next/previous links visit each page once, keep the filters and come back."""
    StockFactory.create_batch(5, sector="Energy")
    StockFactory(ticker="OTHER", sector="Utilities")
    energy = list(
        Stock.objects.filter(sector="Energy").order_by("ticker").values_list("ticker", flat=True)
    )

    pages, response = [], api.get(URL, {"sector": "Energy", "page_size": 2})
    pages.append(tickers_of(response))
    while response.json()["next"]:
        assert "sector=Energy" in response.json()["next"]
        response = api.get(response.json()["next"])
        pages.append(tickers_of(response))

    assert pages == [energy[0:2], energy[2:4], energy[4:5]]
    back = []
    while response.json()["previous"]:
        response = api.get(response.json()["previous"])
        back.append(tickers_of(response))
    assert back == [energy[2:4], energy[0:2]]


# --- cursor mode --------------------------------------------------------------------------

# Ties and NULLs on every cursor ordering, so pages split inside tie groups and at the
# NULL boundary.
CURSOR_ROWS = [
    # ticker, change_percent, pe_ratio, price, name
    ("A", 1.0, 15.0, "10", "Kilo"),
    ("B", None, None, "20", "Alpha"),
    ("C", 2.5, 8.0, "10", "Kilo"),
    ("D", 1.0, 15.0, "30", "Bravo"),
    ("E", 1.0, None, "20", "Alpha"),
    ("F", None, 30.0, "5", "Zulu"),
    ("G", -3.0, -2.0, "10", "Kilo"),
    ("H", 2.5, 8.0, "40", "Echo"),
    ("I", 0.0, None, "20", "Alpha"),
    ("J", None, 12.0, "1", "Bravo"),
    ("K", 1.0, 15.0, "10", "Yankee"),
]
COLUMN = {"change_percent": 1, "pe_ratio": 2, "price": 3, "name": 4}


@pytest.fixture
def cursor_stocks(db) -> None:
    for ticker, change_percent, pe_ratio, price, name in CURSOR_ROWS:
        StockFactory(
            ticker=ticker,
            name=name,
            change_percent=change_percent,
            pe_ratio=pe_ratio,
            price=Decimal(price),
            change=Decimal("0"),
        )
    StockFactory(ticker="AAA", change_percent=99.0, pe_ratio=1.0, is_active=False)


def expected_order(ordering: str) -> list[str]:
    """The contract: by the field (NULLs last either way), ties by ticker in that direction."""
    field = ordering.removeprefix("-")
    descending = ordering.startswith("-")

    def value(row):
        if field == "ticker":
            return row[0]
        raw = row[COLUMN[field]]
        return Decimal(raw) if field == "price" else raw

    present = sorted((value(r), r[0]) for r in CURSOR_ROWS if value(r) is not None)
    nulls = sorted(r[0] for r in CURSOR_ROWS if value(r) is None)
    if descending:
        present.reverse()
        nulls.reverse()
    return [ticker for _, ticker in present] + nulls


def walk(api, response, link: str) -> tuple[list[list[str]], object]:
    """Follow ``link`` ("next" or "previous") from ``response``; the pages met and the last."""
    pages = []
    for _ in range(MAX_PAGES):
        if not response.json()[link]:
            return pages, response
        response = api.get(response.json()[link])
        pages.append(tickers_of(response))
    raise AssertionError(f"{link} links did not end")


CURSOR_ORDERINGS = [
    "ticker", "-ticker", "-change_percent", "change_percent", "pe_ratio", "-pe_ratio",
    "price", "-price", "name", "-name",
]  # fmt: skip


@pytest.mark.parametrize("page_size", [1, 2, 3, 4, 50])
@pytest.mark.parametrize("ordering", CURSOR_ORDERINGS)
def test_cursor__next_links_visit_every_stock_once_in_order(
    api, cursor_stocks, ordering, page_size
):
    """Following next from cursor= visits each active stock exactly once, in order."""
    first = api.get(URL, {"cursor": "", "ordering": ordering, "page_size": page_size})

    pages, last = walk(api, first, "next")

    visited = tickers_of(first) + [t for page in pages for t in page]
    assert visited == expected_order(ordering)
    assert first.json()["previous"] is None
    assert all(len(page) == page_size for page in [tickers_of(first), *pages][:-1])
    assert last.json()["next"] is None


@pytest.mark.parametrize("page_size", [1, 2, 3, 4])
@pytest.mark.parametrize("ordering", CURSOR_ORDERINGS)
def test_cursor__previous_links_walk_back_to_the_same_pages(
    api, cursor_stocks, ordering, page_size
):
    """From the last page, previous links revisit the same pages back to the first."""
    first = api.get(URL, {"cursor": "", "ordering": ordering, "page_size": page_size})
    forward, last = walk(api, first, "next")
    forward = [tickers_of(first), *forward]

    back, at_start = walk(api, last, "previous")

    assert back == forward[-2::-1]
    assert at_start.json()["previous"] is None
    if len(forward) > 1:
        # a page reached backwards leads forward again to the page after it
        assert tickers_of(api.get(at_start.json()["next"])) == forward[1]


def test_cursor__count_and_shape(api, cursor_stocks):
    """Cursor pages carry the total count of the (filtered) result on every page."""
    first = api.get(URL, {"cursor": "", "page_size": 2, "change_percent_min": "0"})
    second = api.get(first.json()["next"])

    for response in (first, second):
        assert set(response.json()) == {"count", "next", "previous", "results"}
        assert response.json()["count"] == 7
    assert "change_percent_min=0" in first.json()["next"]
    assert second.json()["previous"] is not None


def test_cursor__filters_apply_to_every_page(api, cursor_stocks):
    """A filtered cursor walk stays within the filter."""
    first = api.get(URL, {"cursor": "", "page_size": 2, "pe_min": "8", "ordering": "-pe_ratio"})

    pages, _ = walk(api, first, "next")

    assert tickers_of(first) + [t for p in pages for t in p] == ["F", "K", "D", "A", "J", "H", "C"]


def test_cursor__longest_names_page_by_name(api, db):
    """Cursors over 200-character non-ASCII names (the longest a cursor gets) still work."""
    for n in range(3):
        StockFactory(ticker=f"NM{n}", name="\u6771" * 199 + str(n))
    response = api.get(URL, {"cursor": "", "ordering": "name", "page_size": 1})
    seen = tickers_of(response)
    while response.json()["next"]:
        response = api.get(response.json()["next"])
        assert response.status_code == 200, response.content
        seen += tickers_of(response)
    assert seen == ["NM0", "NM1", "NM2"]


def test_cursor__empty_result(api, cursor_stocks):
    """A cursor over nothing is an empty page without links."""
    body = api.get(URL, {"cursor": "", "sector": "Nothing"}).json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_cursor__page_size_capped(api):
    """Cursor pages obey the same 500 cap."""
    tickers = bulk_stocks(501)

    first = api.get(URL, {"cursor": "", "page_size": 100000})
    second = api.get(first.json()["next"])

    assert tickers_of(first) == tickers[:500]
    assert tickers_of(second) == tickers[500:]
    assert second.json()["next"] is None


def test_cursor__three_queries_per_page(api, cursor_stocks, sql_screen, django_assert_num_queries):
    """On SQL a cursor page costs a count, the page's ids and its rows, start and deep in."""
    first = api.get(URL, {"cursor": "", "ordering": "-change_percent", "page_size": 3})
    second_url = first.json()["next"]

    with django_assert_num_queries(3):
        second = api.get(second_url)
    with django_assert_num_queries(3):
        api.get(second.json()["previous"])


def test_cursor__engine_pages_without_queries(api, cursor_stocks, django_assert_num_queries):
    """On the engine's snapshot, cursor pages (forward and back) cost no query at all."""
    first = api.get(URL, {"cursor": "", "ordering": "-change_percent", "page_size": 3})
    assert first["X-Screen-Engine"] == "numpy"

    with django_assert_num_queries(0):
        second = api.get(first.json()["next"])
    with django_assert_num_queries(0):
        back = api.get(second.json()["previous"])

    assert tickers_of(back) == tickers_of(first)


def test_cursor__sparse_fields_keep_positions(
    api, cursor_stocks, sql_screen, django_assert_num_queries
):
    """fields= without the ordering field still pages correctly in three queries a page."""
    params = {"cursor": "", "ordering": "-pe_ratio", "page_size": 3, "fields": "ticker"}
    with django_assert_num_queries(3):
        first = api.get(URL, params)

    pages, _ = walk(api, first, "next")

    assert tickers_of(first) + [t for p in pages for t in p] == expected_order("-pe_ratio")
    assert set(first.json()["results"][0]) == {"ticker", "as_of", "is_stale"}


# --- cursor stability ---------------------------------------------------------------------


def _rest_after_first_page(api, params: dict, change) -> list[str]:
    first = api.get(URL, params)
    change()
    pages, _ = walk(api, first, "next")
    return [t for page in pages for t in page]


def test_cursor_stability__insert_before_position(api, cursor_stocks):
    """Rows inserted before the cursor neither reappear nor push rows onto the next page."""
    params = {"cursor": "", "ordering": "ticker", "page_size": 3}

    def insert():
        StockFactory(ticker="A0")
        StockFactory(ticker="B0")
        StockFactory(ticker="C0")  # between C (last seen) and D: after the position

    assert _rest_after_first_page(api, params, insert) == ["C0", *"DEFGHIJK"]


def test_cursor_stability__insert_inside_a_tie(api, cursor_stocks):
    """A row tying with the cursor's value lands by ticker: before the position is skipped."""
    # -change_percent: H, C (2.5), K, E | D, A (1.0): the first page of 4 ends inside a tie.
    params = {"cursor": "", "ordering": "-change_percent", "page_size": 4}

    def insert():
        StockFactory(ticker="Z", change_percent=1.0, price=Decimal("1"), change=Decimal("0"))
        StockFactory(ticker="B1", change_percent=1.0, price=Decimal("1"), change=Decimal("0"))

    rest = _rest_after_first_page(api, params, insert)

    assert rest == ["D", "B1", "A", "I", "G", "J", "F", "B"]


@pytest.mark.parametrize("how", ["delete", "deactivate"])
def test_cursor_stability__removing_seen_rows(api, cursor_stocks, how):
    """Rows already seen that disappear do not shift the remaining pages."""
    params = {"cursor": "", "ordering": "pe_ratio", "page_size": 3}
    expected = expected_order("pe_ratio")

    def remove():
        seen = Stock.objects.filter(ticker__in=expected[:3])
        seen.delete() if how == "delete" else seen.update(is_active=False)

    assert _rest_after_first_page(api, params, remove) == expected[3:]


def test_cursor_stability__removing_the_position_row(api, cursor_stocks):
    """The cursor still works when the very row it points at is gone."""
    params = {"cursor": "", "ordering": "-change_percent", "page_size": 3}
    expected = expected_order("-change_percent")

    def remove():
        Stock.objects.filter(ticker=expected[2]).delete()

    assert _rest_after_first_page(api, params, remove) == expected[3:]


def test_cursor_stability__previous_after_insert(api, cursor_stocks):
    """Walking back after an insert before the position shows the new row in its place."""
    second = api.get(api.get(URL, {"cursor": "", "page_size": 3}).json()["next"])
    StockFactory(ticker="BB")

    back = api.get(second.json()["previous"])

    assert tickers_of(second) == ["D", "E", "F"]
    assert tickers_of(back) == ["B", "BB", "C"]
    assert tickers_of(api.get(back.json()["previous"])) == ["A"]


# --- bad cursors --------------------------------------------------------------------------


def test_cursor__unsigned_or_altered(api, cursor_stocks):
    """Only cursors this server signed are read: any change to one is a 404 invalid_cursor
    (a position we never made), and one not even written as ours are is a 400."""
    first = api.get(URL, {"cursor": "", "ordering": "ticker", "page_size": 2}).json()
    token = parse_qs(urlsplit(first["next"]).query)["cursor"][0]
    assert api.get(URL, {"cursor": token, "ordering": "ticker"}).status_code == 200
    body, signature = token.rsplit(":", 1)
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = {**payload, "t": "A"}
    for bad, status, code in (
        (unsigned_cursor(payload), 400, "invalid"),  # the format before cursors were signed
        (unsigned_cursor(forged) + ":" + signature, 404, "invalid_cursor"),  # old signature
        (body + ":" + signature[::-1], 404, "invalid_cursor"),
        (body, 400, "invalid"),
    ):
        response = api.get(URL, {"cursor": bad, "ordering": "ticker"})
        error = assert_error(response, status, code)
        assert error["details"] == {"cursor": ["Invalid cursor."]}


@pytest.mark.parametrize(
    ("cursor", "ordering"),
    [
        ("garbage!!", "ticker"),
        ("%%%", "ticker"),
        ("\u65e5\u672c", "ticker"),
        ("A" * 10_000, "ticker"),
        (base64.urlsafe_b64encode(b"[" * 1500).decode(), "ticker"),  # nesting past recursion
        (base64.urlsafe_b64encode(b'{"a":' * 300).decode(), "ticker"),
        (base64.urlsafe_b64encode(b"[" * 5000).decode(), "ticker"),  # longer than any of ours
        ("e30", "ticker"),  # {}
        (base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(), "ticker"),
        (base64.urlsafe_b64encode(b"not json").decode(), "ticker"),
    ],
)  # fmt: skip
def test_cursor__not_written_as_ours_is_400(api, cursor_stocks, cursor, ordering):
    """A cursor that is not even written as ours are (the schema's pattern and length) is a
    400 naming cursor, never a 500."""
    response = api.get(URL, {"cursor": cursor, "ordering": ordering})

    error = assert_error(response, 400, "invalid")
    assert "cursor" in error["details"]


@pytest.mark.parametrize(
    ("cursor", "ordering"),
    [
        (encode_cursor(None), "ticker"),
        (encode_cursor([1, 2, 3]), "ticker"),
        (encode_cursor("string"), "ticker"),
        (encode_cursor({"v": None, "t": "A", "b": False}), "ticker"),
        (encode_cursor({"v": "abc", "t": "A", "b": False, "o": "volume"}), "volume"),
        (encode_cursor({"v": "1e30", "t": "A", "b": False, "o": "volume"}), "volume"),
        (encode_cursor({"v": "abc", "t": "A", "b": False, "o": "price"}), "price"),
        (encode_cursor({"v": "NaN", "t": "A", "b": False, "o": "price"}), "price"),
        (encode_cursor({"v": "nan", "t": "A", "b": False, "o": "pe_ratio"}), "pe_ratio"),
        (encode_cursor({"v": "inf", "t": "A", "b": False, "o": "-pe_ratio"}), "-pe_ratio"),
        (encode_cursor({"v": "-Infinity", "t": "A", "b": True, "o": "change_percent"}),
         "change_percent"),
        (encode_cursor({"v": None, "t": "A", "b": False, "o": "ticker", "d": "7"}), "ticker"),
        (encode_cursor({"v": None, "t": "A", "b": False, "o": "ticker", "d": True}), "ticker"),
        (encode_cursor({"v": None, "t": "A", "b": False, "o": "ticker", "d": -1}), "ticker"),
        (encode_cursor({"v": None, "t": "A", "b": False, "o": "ticker", "d": 2**64}), "ticker"),
        (encode_cursor({"v": None, "t": "A", "b": False, "o": "ticker", "d": 1.5}), "ticker"),
    ],
)  # fmt: skip
def test_cursor__signed_but_not_a_position_is_404(api, cursor_stocks, cursor, ordering):
    """What a signed cursor holds is still checked (a leaked SECRET_KEY must not turn into a
    500 or unbounded work): a payload we never made is a 404 naming cursor."""
    response = api.get(URL, {"cursor": cursor, "ordering": ordering})

    error = assert_error(response, 404, "invalid_cursor")
    assert "cursor" in error["details"]


@pytest.mark.parametrize(
    ("made_for", "used_with"),
    [("ticker", "-price"), ("-change_percent", "change_percent"), ("pe_ratio", "ticker")],
)
def test_cursor__made_for_another_ordering_is_404(api, cursor_stocks, made_for, used_with):
    """A cursor only works with the ordering it was made for."""
    token = _next_token(api, ordering=made_for)

    response = api.get(URL, {"cursor": token, "ordering": used_with})

    error = assert_error(response, 404, "invalid_cursor")
    assert error["details"] == {"cursor": ["This cursor was made for another ordering."]}


@pytest.mark.parametrize("flag", ["false", 1, [1], None])
def test_cursor__direction_must_be_a_boolean(api, cursor_stocks, flag):
    """A forged direction ("false" as a string, a list) is a 404, not read as backwards."""
    cursor = encode_cursor({"v": None, "t": "C", "b": flag, "o": "ticker"})

    error = assert_error(api.get(URL, {"cursor": cursor}), 404, "invalid_cursor")

    assert "cursor" in error["details"]


def test_cursor__nothing_before_a_backwards_cursor_gives_the_first_page(api, cursor_stocks):
    """A backwards cursor with no rows before it answers the first page, links and all."""
    cursor = encode_cursor({"v": "-1000", "t": "A", "b": True, "o": "price"})

    body = api.get(URL, {"cursor": cursor, "ordering": "price", "page_size": 3}).json()

    assert [row["ticker"] for row in body["results"]] == expected_order("price")[:3]
    assert body["next"] and body["previous"] is None


def _next_token(api, **params) -> str:
    first = api.get(URL, {"cursor": "", "page_size": 2, **params}).json()
    return parse_qs(urlsplit(first["next"]).query)["cursor"][0]


@pytest.fixture
def shared_versions(monkeypatch):
    """The versions as a shared cache keeps them (one process here: locmem is shared)."""
    monkeypatch.setattr(data_version, "shared", lambda: True)


def test_cursor__goes_on_after_data_changes_until_its_data_is_too_old(
    api, cursor_stocks, settings, shared_versions
):
    """Tied to its data version: after the data changes (a refresh may be many changes, one
    per ingest batch) it goes on for CURSOR_MAX_AGE_SECONDS from when its version was
    replaced, then is a 404 cursor_expired telling the client to start again."""
    settings.CURSOR_MAX_AGE_SECONDS = 1
    token = _next_token(api, ordering="ticker")
    for _ in range(30):
        data_version.bump()
    response = api.get(URL, {"cursor": token, "ordering": "ticker", "page_size": 2})
    assert response.status_code == 200, response.content
    assert tickers_of(response) == ["C", "D"]

    time.sleep(1.1)
    # (another page size: the answer above is in the response cache for its own timeout)
    response = api.get(URL, {"cursor": token, "ordering": "ticker", "page_size": 3})

    error = assert_error(response, 404, "cursor_expired")
    assert error["details"] == {"cursor": [CursorExpired.MESSAGE]}
    fresh = _next_token(api, ordering="ticker")
    assert api.get(URL, {"cursor": fresh, "ordering": "ticker"}).status_code == 200


def test_cursor__of_the_current_version_never_expires(api, cursor_stocks, settings,
                                                     shared_versions):  # fmt: skip
    settings.CURSOR_MAX_AGE_SECONDS = 1
    token = _next_token(api, ordering="ticker")
    time.sleep(1.1)
    assert api.get(URL, {"cursor": token, "ordering": "ticker"}).status_code == 200


def test_cursor__with_a_cache_per_process_goes_on(api, cursor_stocks):
    """The local-memory cache (the embedded default): each process counts its own versions,
    so another worker's cursor cannot be placed; it is not refused for that."""
    cursor = encode_cursor({"v": None, "t": "B", "b": False, "o": "ticker", "d": 2**62})
    response = api.get(URL, {"cursor": cursor, "ordering": "ticker", "page_size": 2})
    assert tickers_of(response) == ["C", "D"]


@pytest.mark.parametrize("version", [2**62, 1], ids=["ahead (a re-seeded cache)", "unknown"])
def test_cursor__a_version_the_cache_cannot_place_is_expired(
    api, cursor_stocks, version, shared_versions
):
    """Ahead of the current one (the cache was flushed and re-seeded since, or another
    deployment's data), or one whose end the cache never saw: expired."""
    cursor = encode_cursor({"v": None, "t": "C", "b": False, "o": "ticker", "d": version})
    assert_error(api.get(URL, {"cursor": cursor}), 404, "cursor_expired")


def test_cursor__made_before_cursors_carried_a_version_goes_on(api, cursor_stocks):
    cursor = seal({"v": None, "t": "B", "b": False, "o": "ticker"})
    response = api.get(URL, {"cursor": cursor, "ordering": "ticker", "page_size": 2})
    assert tickers_of(response) == ["C", "D"]


def test_cursor__secret_key_rotation(api, cursor_stocks, settings):
    """A new SECRET_KEY ends the cursors in flight, unless the old one is a fallback."""
    first = api.get(URL, {"cursor": "", "ordering": "ticker", "page_size": 2}).json()
    token = parse_qs(urlsplit(first["next"]).query)["cursor"][0]
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-key-" + "Zq8" * 16
    assert_error(api.get(URL, {"cursor": token, "ordering": "ticker"}), 404, "invalid_cursor")
    settings.SECRET_KEY_FALLBACKS = [old]
    assert api.get(URL, {"cursor": token, "ordering": "ticker"}).status_code == 200


def test_cursor__a_malformed_page_beside_it_is_400(api, cursor_stocks):
    """In cursor mode page is unused, but a page the schema refuses is refused all the same."""
    assert_error(api.get(URL, {"cursor": "", "page": "0"}), 400, "invalid")
    assert api.get(URL, {"cursor": "", "page": "7"}).status_code == 200
