"""One JSON error body on every error path, request headers, and hostile input never a 500."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from stocks.models import Stock
from stocks.querysets import StockQuerySet
from stocks.screen import select
from stocks.screen.paging import seal

from .factories import StockFactory

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"status", "code", "message", "details", "request_id"}
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
RESPONSE_TIME = re.compile(r"^\d+(\.\d+)?ms$")


@pytest.fixture
def aapl(db) -> Stock:
    return StockFactory(ticker="AAPL", name="Apple Inc")


@pytest.fixture
def lenient_api() -> APIClient:
    """A client that gets the 500 response instead of the exception behind it."""
    return APIClient(raise_request_exception=False)


def assert_error(response, status: int, code: str) -> dict:
    """The one error body, with the status, the code and the response's request id."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == ERROR_KEYS
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
    assert error["request_id"] == response["X-Request-ID"]
    return error


def boom(*args, **kwargs):
    raise RuntimeError("simulated failure")


# --- each error path ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/stocks/?price_min=abc", "price_min"),
        ("/api/stocks/?ordering=eps", "ordering"),
        ("/api/stocks/?page_size=0", "page_size"),
        ("/api/stocks/?cursor=garbage", "cursor"),
        ("/api/stocks/?fields=nope", "fields"),
        ("/api/stocks/search/", "q"),
        ("/api/stocks/search/?q=ab&limit=0", "limit"),
        ("/api/market/movers/?kind=sideways", "kind"),
        ("/api/market/movers/?limit=101", "limit"),
        ("/api/stocks/AAPL/history/?interval=1h", "interval"),
        ("/api/stocks/AAPL/history/?start=2024-02-30", "start"),
    ],
)
def test_validation_error__400_with_field_details(api, aapl, path, field):
    """A bad parameter is a 400 whose details map the parameter to its messages."""
    error = assert_error(api.get(path), 400, "invalid")

    assert error["message"] == "Invalid request parameters."
    assert field in error["details"]
    assert all(isinstance(m, str) for m in error["details"][field])


@pytest.mark.parametrize(
    "path",
    [
        "/api/stocks/NOPE/",
        "/api/stocks/NOPE/history/",
        "/api/realtime/NOPE/",
        "/api/stocks/DEAD/",
        "/api/realtime/dead/",
    ],
)
def test_unknown_ticker__404_ticker_not_found(api, aapl, path):
    """A ticker with no active stock is a 404 coded ticker_not_found."""
    StockFactory(ticker="DEAD", is_active=False)

    error = assert_error(api.get(path), 404, "ticker_not_found")

    assert error["details"] == {}


def test_unknown_ticker__message_names_the_canonical_ticker(api):
    """The 404 message names the ticker as normalised."""
    error = assert_error(api.get("/api/stocks/brk-b/"), 404, "ticker_not_found")

    assert "BRK.B" in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/stocks/"),
        ("delete", "/api/stocks/"),
        ("put", "/api/stocks/"),
        ("patch", "/api/stocks/AAPL/"),
        ("delete", "/api/stocks/AAPL/"),
        ("post", "/api/stocks/search/"),
        ("post", "/api/realtime/AAPL/"),
        ("delete", "/api/market/movers/"),
        ("post", "/api/market/sectors/"),
    ],
)
def test_wrong_method__405_json(aapl, method, path):
    """A write to a read-only endpoint is a 405 with the JSON body, whatever the payload."""
    client = APIClient(enforce_csrf_checks=True)

    response = getattr(client, method)(path, data="{not json", content_type="application/json")

    error = assert_error(response, 405, "method_not_allowed")
    assert method.upper() in error["message"]
    assert "GET" in response["Allow"]
    assert Stock.objects.filter(ticker="AAPL").exists()


@pytest.mark.parametrize("method", ["post", "put", "delete", "options", "patch"])
@pytest.mark.parametrize("path", ["/health/", "/health/live/", "/health/ready/"])
def test_wrong_method__public_health_probes_405_json(method, path):
    """The probes answer GET and HEAD; anything else is a JSON 405, never the CSRF page."""
    client = APIClient(enforce_csrf_checks=True)

    assert_error(getattr(client, method)(path), 405, "method_not_allowed")
    assert client.head(path).status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "delete", "options"])
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_wrong_method__schema_and_docs_405_json(method, path):
    """The schema (YAML) and its UIs (HTML) still answer errors with the JSON body."""
    client = APIClient(enforce_csrf_checks=True)

    response = getattr(client, method)(path)

    error = assert_error(response, 405, "method_not_allowed")
    assert method.upper() in error["message"]
    assert response["Allow"] == "GET, HEAD"


def test_wrong_method__static_files_405_json():
    """WhiteNoise answers a write to a static file by itself: that 405 gets the body too."""
    client = APIClient()
    response = client.post("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")
    assert_error(response, 405, "method_not_allowed")


def test_schema__unknown_format_404_json(api):
    """?format= names a renderer; one the schema lacks is a JSON 404, not a YAML body."""
    assert_error(api.get("/api/schema/", {"format": "xml"}), 404, "not_found")


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_IF_MATCH": '"nope"'}, {"HTTP_IF_UNMODIFIED_SINCE": "Mon, 01 Jan 1990 00:00:00 GMT"}],
)
def test_failed_precondition__412_json(api, aapl, headers):
    """A failed If-Match / If-Unmodified-Since is a 412 with the body, not an empty page."""
    response = api.get("/api/stocks/AAPL/", **headers)

    assert_error(response, 412, "precondition_failed")
    assert "ETag" not in response


def test_admin__keeps_its_html_error_pages(db):
    """The admin is for people: a CSRF failure there is Django's HTML page, not JSON."""
    client = APIClient(enforce_csrf_checks=True)

    response = client.post("/admin/login/", {"username": "x", "password": "y"}, format="multipart")

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "/api/nope/",
        "/api/",
        "/api/stocks/AAPL/nope/",
        "/api/stocks/AAPL/history/extra/",
        "/api/market/",
        "/api/stocks/bad ticker/",
    ],
)
@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_unknown_api_path__404_json(api, aapl, settings, path, debug):
    """An unknown path under /api/ is a JSON 404, never Django's HTML page, even in DEBUG."""
    settings.DEBUG = debug

    error = assert_error(api.get(path), 404, "not_found")

    assert error["details"] == {}


def test_unknown_api_path__post_is_json_not_a_csrf_page(aapl):
    """A POST to an unknown /api/ path from a browser-like client is still the JSON 404."""
    client = APIClient(enforce_csrf_checks=True)

    assert_error(client.post("/api/nope/", {"a": 1}, format="json"), 404, "not_found")


def test_unknown_site_path__404_json(api):
    """Outside /api/ too, an unknown path is answered with the JSON body."""
    assert_error(api.get("/no/such/page/"), 404, "not_found")


def test_disallowed_host__400_json(api):
    """A request for a host we do not serve is a JSON 400, not HTML."""
    response = api.get("/api/stocks/", headers={"host": "evil.example"})

    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize(
    ("owner", "target", "path"),
    [
        (StockQuerySet, "sector_summary", "/api/market/sectors/"),
        (select, "run", "/api/stocks/"),
        (StockQuerySet, "movers", "/api/market/movers/"),
    ],
)
def test_unhandled_exception__500_json_with_request_id(
    lenient_api, aapl, monkeypatch, owner, target, path
):
    """A bug is a 500 with the JSON body and the request id, not a traceback."""
    monkeypatch.setattr(owner, target, boom)

    response = lenient_api.get(path, headers={"x-request-id": "trace-500-abc"})

    error = assert_error(response, 500, "server_error")
    assert error["request_id"] == "trace-500-abc"
    assert "simulated failure" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_unhandled_exception__mails_admins(lenient_api, aapl, monkeypatch, settings, mailoutbox):
    """A 500 is mailed to ADMINS with the path and the exception."""
    settings.ADMINS = [("Ops", "ops@example.com")]
    monkeypatch.setattr(StockQuerySet, "sector_summary", boom)

    response = lenient_api.get("/api/market/sectors/")

    assert response.status_code == 500
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["ops@example.com"]
    assert "/api/market/sectors/" in mail.subject
    assert "RuntimeError" in mail.body


def test_client_errors__mail_nobody(api, aapl, settings, mailoutbox):
    """400s, 404s and 405s are the client's mistakes: no mail."""
    settings.ADMINS = [("Ops", "ops@example.com")]

    api.get("/api/stocks/?price_min=x")
    api.get("/api/stocks/NOPE/")
    api.get("/api/nope/")
    api.post("/api/stocks/")

    assert mailoutbox == []


# --- headers ------------------------------------------------------------------------------


OUTCOMES = {
    "ok": ("get", "/api/stocks/"),
    "invalid": ("get", "/api/stocks/?pe_min=NaN"),
    "ticker-404": ("get", "/api/stocks/NOPE/"),
    "path-404": ("get", "/api/nope/"),
    "site-404": ("get", "/nope/"),
    "405": ("delete", "/api/stocks/"),
    "500": ("get", "/api/market/sectors/"),
}


@pytest.fixture(params=OUTCOMES)
def send(request, lenient_api, aapl, monkeypatch):
    """Sends one request per outcome: success and each kind of error."""
    monkeypatch.setattr(StockQuerySet, "sector_summary", boom)
    method, path = OUTCOMES[request.param]
    return lambda headers=None: getattr(lenient_api, method)(path, headers=headers or {})


def test_headers__request_id_and_response_time_everywhere(send):
    """Success and every error carry X-Request-ID and X-Response-Time."""
    response = send()

    assert GENERATED_ID.match(response["X-Request-ID"])
    assert RESPONSE_TIME.match(response["X-Response-Time"])
    if response.status_code >= 400:
        assert json.loads(response.content)["error"]["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize("incoming", ["abc-123", "req.2024:01_x", "A" * 128, "7"])
def test_headers__sane_request_id_echoed(send, incoming):
    """A short, plain X-Request-ID from the caller is echoed back (and in any error body)."""
    response = send({"X-Request-ID": incoming})

    assert response["X-Request-ID"] == incoming
    if response.status_code >= 400:
        assert json.loads(response.content)["error"]["request_id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("A" * 129, id="too-long"),
        pytest.param("abc\ndef", id="newline"),
        pytest.param("abc\r\nX-Evil: 1", id="header-injection"),
        pytest.param("abc def", id="space"),
        pytest.param("abc\tdef", id="tab"),
        pytest.param("<script>", id="markup"),
        pytest.param("caf\u00e9", id="non-ascii"),
        pytest.param("abc\n", id="trailing-newline"),
    ],
)
def test_headers__insane_request_id_replaced(send, incoming):
    """An X-Request-ID that is too long or not plain is replaced by a generated one."""
    response = send({"X-Request-ID": incoming})

    assert GENERATED_ID.match(response["X-Request-ID"])
    if response.status_code >= 400:
        body_id = json.loads(response.content)["error"]["request_id"]
        assert body_id == response["X-Request-ID"]


def test_headers__each_request_gets_its_own_id(api):
    """Generated request ids differ between requests."""
    ids = {api.get("/api/stocks/")["X-Request-ID"] for _ in range(3)}

    assert len(ids) == 3


# --- hostile input ------------------------------------------------------------------------

ENDPOINTS = [
    "/api/stocks/",
    "/api/stocks/search/",
    "/api/stocks/AAPL/",
    "/api/stocks/AAPL/history/",
    "/api/realtime/AAPL/",
    "/api/market/movers/",
    "/api/market/sectors/",
    "/api/stocks/fields/",
]
_NAN_CURSOR = seal({"v": "nan", "t": "A", "b": False, "o": "pe_ratio"})
SQL = "' OR 1=1 --"
DROP = '"; DROP TABLE stocks_stock; --'
_PARAMS = ("q", "sector", "tickers", "ordering", "fields", "kind", "interval", "period", "start")
HOSTILE = {
    # 10 KB values, on every parameter the endpoints read, and on one none reads
    "10kb-q": urlencode({"q": "a" * 10240}),
    "10kb-q-words": urlencode({"q": "ab " * 3413}),
    "many-words": urlencode({"q": "abcd " * 20}),
    "10kb-unknown": urlencode({"x" * 100: "y" * 10240}),
    "10kb-tickers": urlencode({"tickers": ",".join(["AAPL"] * 2500)}),
    "10kb-all": urlencode(dict.fromkeys(_PARAMS, "z" * 10240)),
    "10kb-cursor": urlencode({"cursor": "A" * 10240}),
    "10kb-fields": urlencode({"fields": "ticker," * 1500}),
    "10kb-page": urlencode({"page": "9" * 10240, "page_size": "9" * 10240}),
    "10kb-limit": urlencode({"limit": "9" * 10240}),
    # non-ASCII
    "japanese": urlencode({"q": "日本", "sector": "日本", "tickers": "日本"}),
    "umlaut": urlencode({"q": "Über", "sector": "Über", "industry": "Über", "country": "Über"}),
    "emoji": urlencode({"q": "📈🚀", "ordering": "📈", "kind": "📈", "interval": "📈"}),
    "rtl": urlencode({"q": "مرحبا", "fields": "مرحبا", "period": "مرحبا"}),
    "combining": urlencode({"q": "e\u0301\u0301\u0301", "tickers": "A\u0301"}),
    "fullwidth-digits": urlencode({"limit": "\uff15", "page": "\uff15", "page_size": "\uff15"}),
    "superscript-digits": urlencode({"limit": "²", "page": "²", "page_size": "²"}),
    "invalid-utf8": "q=%FF%FE&sector=%C3%28&tickers=%80&limit=%FF",
    # SQL-looking text
    "sql-or": urlencode(dict.fromkeys(_PARAMS, SQL)),
    "sql-drop": urlencode(dict.fromkeys(_PARAMS, DROP)),
    "sql-tickers": urlencode({"tickers": f"AAPL,{SQL}", "q": f"AAPL{SQL}"}),
    "sql-numbers": urlencode({"price_min": "1 OR 1=1", "limit": "1; --", "page": "1 --"}),
    "sql-comment": urlencode({"q": "/**/UNION/**/SELECT", "sector": "%' --", "q2": "_%"}),
    "sql-wildcards": urlencode({"q": "%%%___", "sector": "%", "industry": "_"}),
    # NUL and control bytes
    "nul": urlencode(dict.fromkeys((*_PARAMS, "page", "limit", "cursor"), "a\x00b")),
    "nul-only": urlencode({"q": "\x00", "sector": "\x00", "tickers": "\x00"}),
    "control": urlencode({"q": "\x01\x07\x1b[31m\r\n", "sector": "\x7f"}),
    # sizes, signs and numbers
    "huge-page-size": urlencode({"page_size": "100000000000000000000", "limit": "10" * 20}),
    "huge-page": urlencode({"page": "100000000000000000000"}),
    "negative-limit": urlencode({"limit": "-1", "page_size": "-1", "page": "-1"}),
    "zero": urlencode({"limit": "0", "page_size": "0", "page": "0"}),
    "float-limit": urlencode({"limit": "1.5", "page_size": "2.5"}),
    "exp-limit": urlencode({"limit": "1e400", "page_size": "1e400", "price_min": "1e400"}),
    "nan": urlencode({"limit": "NaN", "price_min": "NaN", "near_52w_high": "NaN"}),
    "infinity": urlencode({"limit": "Infinity", "pe_max": "-Infinity", "beta_min": "inf"}),
    "nan-cursor": urlencode({"cursor": _NAN_CURSOR, "ordering": "pe_ratio"}),
    # dates
    "ancient-date": urlencode({"start": "0001-01-01", "end": "0001-01-02"}),
    "far-future": urlencode({"start": "9999-12-31", "end": "9999-12-31"}),
    "impossible-date": urlencode({"start": "2024-13-45", "end": "2024-02-30"}),
    "huge-year": urlencode({"start": "99999-01-01", "end": "-0001-01-01"}),
    # shape of the query string itself
    "repeated": "sector=a&sector=b&page=1&page=2&q=ab&q=cd&limit=1&limit=2",
    "bare-keys": "q&page&limit&cursor&fields&ordering",
    "empty-values": "q=&limit=&page=&page_size=&cursor=&kind=&interval=&fields=&ordering=",
    "bad-escapes": "q=%&limit=%zz&sector=%E6%97",
    "only-separators": "&&&===&&",
    "whitespace": urlencode({"q": "   ", "tickers": " , , ", "fields": " , "}),
    "markup": urlencode({"q": "<script>alert(1)</script>", "sector": "<b>"}),
    "traversal": urlencode({"q": "../../etc/passwd", "fields": "../ticker"}),
    "format-strings": urlencode({"q": "%s%s%n{0}{}", "sector": "{ticker}"}),
    "backslashes": urlencode({"q": "\\\\\\", "tickers": "A\\B"}),
}


@pytest.mark.parametrize("query", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("path", ENDPOINTS)
def test_hostile_input__never_500_always_json(api, aapl, path, query):
    """Hostile query strings are answered below 500 with a JSON body, and change nothing."""
    response = api.get(f"{path}?{query}")

    assert response.status_code < 500, response.content[:500]
    body = json.loads(response.content)
    if response.status_code >= 400:
        assert set(body["error"]) == ERROR_KEYS
    assert Stock.objects.filter(ticker="AAPL").count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/stocks/%E6%97%A5%E6%9C%AC/",
        "/api/stocks/AAPL%00/",
        "/api/stocks/%00/history/",
        "/api/realtime/%27%20OR%201=1%20--/",
        "/api/stocks/%22;%20DROP%20TABLE%20stocks_stock;%20--/",
        "/api/stocks/" + "A" * 10240 + "/",
        "/api/stocks/AAAAAAAAAAAAAAAA/",
        "/api/realtime/" + "A" * 17 + "/",
        "/api/stocks/../../etc/passwd/",
        "/api/stocks/%2e%2e%2f/",
        "/api/stocks/%FF/",
        "/api/stocks/-AAPL/",
        "/api/stocks/AAPL../history/",
        "/api/" + "x/" * 2000,
    ],
)
def test_hostile_path__404_json(api, aapl, path):
    """Hostile ticker paths are a JSON 404 (unknown ticker or unknown path), never a 500."""
    response = api.get(path)

    assert response.status_code == 404, response.content[:500]
    assert set(json.loads(response.content)["error"]) == ERROR_KEYS
    assert Stock.objects.filter(ticker="AAPL").count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"accept": "text/html"},
        {"accept": "application/xml"},
        {"accept": "*/*;q=garbage"},
        {"accept-encoding": "gzip;q=abc, br"},
        {"if-none-match": '"' + "x" * 10240 + '"'},
        {"x-api-key": "' OR 1=1 --"},
        {"cookie": "sessionid=%00; csrftoken=\u00e9"},
    ],
)
def test_hostile_headers__never_500(api, aapl, headers):
    """Odd or hostile request headers are answered below 500 and never as HTML."""
    response = api.get("/api/stocks/", headers=headers)

    assert response.status_code < 500
    assert "text/html" not in response.get("Content-Type", "")


@pytest.mark.parametrize(
    ("status", "code"), [(412, "precondition_failed"), (418, "i_m_a_teapot"), (599, "error")]
)
def test_generic_error_body__any_status_gets_a_code_and_message(status, code):
    """A bare status from any layer maps to a snake_case code and a message."""
    from stocks.errors import generic_error_body

    error = generic_error_body(status)["error"]
    assert (error["status"], error["code"]) == (status, code)
    assert error["message"]


def test_not_acceptable__406_json(api):
    response = api.get("/api/stocks/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 406
    assert response.json()["error"]["code"] == "not_acceptable"


def test_unsupported_media_type__415_json(api):
    response = api.post("/api/stocks/screen/", data="price_min=1", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_wrong_operator_token__401_authentication_failed(api, health_token):
    response = api.get("/health/detailed/", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def _readme_error_codes() -> set[str]:
    """The codes README.md lists (its "Codes:" paragraph, each followed by its status)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    paragraph = readme.split("\nCodes: ", 1)[1].split("\n\n", 1)[0]
    # `code` (400...) or `code` / `code` / `code` (403)
    return set(re.findall(r"`([a-z_]+)`(?=\s*(?:\(\d{3}|/))", paragraph))


def test_readme__every_error_code_is_produced_by_a_test():
    """README's list of codes: each one is asserted as a response's code by some test."""
    from pathlib import Path

    codes = _readme_error_codes()
    assert {"invalid", "authentication_failed", "database_unavailable"} <= codes
    tests = Path(__file__).resolve().parent
    here = Path(__file__)
    sources = "".join(path.read_text() for path in tests.rglob("test_*.py") if path != here)
    sources += Path(__file__).read_text().split("def _readme_error_codes")[0]
    untested = {code for code in codes if f'"{code}"' not in sources}
    assert untested == set()


@pytest.mark.parametrize(
    ("path", "blank_query", "default_query"),
    [
        ("/api/market/movers/", "kind=%20&limit=%0B", ""),
        ("/api/stocks/search/", "q=apple&limit=%20%09", "q=apple"),
        ("/api/stocks/", "page=%20&page_size=%0A&ordering=%20&fields=%20&price_min=%E2%80%83", ""),
        ("/api/stocks/AAPL/history/", "interval=%20&period=&start=%20", ""),
    ],
)
def test_blank_optional_parameters__are_their_default(api, aapl, path, blank_query, default_query):
    """README: an optional parameter sent empty or blank is the same as not sent."""
    blank = api.get(f"{path}?{blank_query}")
    default = api.get(f"{path}?{default_query}")
    assert blank.status_code == default.status_code == 200, blank.content
    assert blank.json().get("results", blank.json().get("bars")) == default.json().get(
        "results", default.json().get("bars")
    )


@pytest.mark.parametrize(
    ("path", "blank_query", "default_query"),
    [
        ("/api/stocks/", "fields=,%20,", ""),  # only commas: no field asked for, so all
        ("/api/stocks/", "cursor=%20", "cursor="),  # a blank cursor starts, as an empty one
    ],
)
def test_blank_lists_and_cursors__as_empty_ones(api, aapl, path, blank_query, default_query):
    blank = api.get(f"{path}?{blank_query}")
    default = api.get(f"{path}?{default_query}")
    assert blank.status_code == default.status_code == 200, blank.content
    assert blank.json()["results"] == default.json()["results"]


@pytest.mark.parametrize("value", ["1_0", "%D9%A1%D9%A0", "1e", "0x10", "Infinity", "%EF%BC%91"])
def test_screen_numbers__as_json_writes_them(api, aapl, value):
    """ASCII digits only, no underscores (Python's Decimal reads both; the schema's number
    does not): what the schema refuses, the API refuses."""
    response = api.get(f"/api/stocks/?price_min={value}")
    assert response.status_code == 400
    assert "price_min" in response.json()["error"]["details"]


@pytest.mark.parametrize("value", ["%201", "1%20", "+1", "1_0"])
def test_whole_numbers__as_the_schema_writes_them(api, aapl, value):
    """An integer parameter is an integer as the schema has it: no padding, sign or
    underscores (what the schema calls invalid is refused, not quietly read)."""
    assert api.get(f"/api/market/movers/?limit={value}").status_code == 400
