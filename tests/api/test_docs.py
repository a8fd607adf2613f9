"""OpenAPI schema and docs UI, with assets served by the app itself (no CDN)."""

import re

import pytest
import yaml

from stocks.screen.fields import TICKERS_MAX_LENGTH
from stocks.screen.paging import MAX_CURSOR_LENGTH
from stocks.screen.params import FIELDS_MAX_LENGTH

pytestmark = pytest.mark.django_db


def test_schema__lists_every_endpoint_and_screen_parameter(api):
    """The OpenAPI document covers the public paths and the screen's filters."""
    response = api.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in (
        "/api/stocks/",
        "/api/stocks/fields/",
        "/api/stocks/search/",
        "/api/stocks/{ticker}/",
        "/api/stocks/{ticker}/history/",
        "/api/realtime/{ticker}/",
        "/api/market/sectors/",
        "/api/market/movers/",
    ):
        assert any(p.rstrip("/?") == path.rstrip("/") for p in paths), path
    list_path = next(p for p in paths if p.rstrip("/?") == "/api/stocks")
    names = {param["name"] for param in paths[list_path]["get"]["parameters"]}
    assert {"price_min", "sector", "ordering", "page", "page_size", "cursor", "fields"} <= names


def test_docs__ui_assets_are_local(api):
    """The Swagger UI page loads its scripts from our static files, and they are served."""
    response = api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assets = [s for s in sources if s.endswith((".js", ".css"))]
    assert assets, html[:500]
    assert all(s.startswith("/static/") for s in assets), assets
    for asset in assets:
        served = api.get(asset)
        assert served.status_code == 200, asset
        served.close()


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs__nothing_loaded_from_outside(api, page):
    """
    No URL of another host in the page (scripts, styles, fonts, images, the schema), and no
    validator badge (Swagger UI fetches it from validator.swagger.io unless told not to).
    """
    html = api.get(page).content.decode()
    assert not re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html), html
    assert "fonts.googleapis" not in html
    if page == "/api/docs/":
        assert '"validatorUrl": null' in html


@pytest.mark.parametrize("path", ["/api/schema", "/api/docs", "/api/redoc"])
def test_docs__the_trailing_slash_is_optional(api, path):
    with_slash, without = api.get(path + "/"), api.get(path)
    assert with_slash.status_code == without.status_code == 200
    assert with_slash["Content-Type"] == without["Content-Type"]
    if path == "/api/schema":  # (the UI pages carry a CSRF token of their own)
        assert with_slash.content == without.content


ENDPOINTS = {
    "/api/stocks/": "/api/stocks/",
    "/api/stocks/fields/": "/api/stocks/fields/",
    "/api/stocks/search/?q=acme": "/api/stocks/search/",
    "/api/stocks/ACME/": "/api/stocks/{ticker}/",
    "/api/stocks/ACME/history/": "/api/stocks/{ticker}/history/",
    "/api/realtime/ACME/": "/api/realtime/{ticker}/",
    "/api/market/sectors/": "/api/market/sectors/",
    "/api/market/movers/": "/api/market/movers/",
}


def _component(schema: dict, ref: dict) -> dict:
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


@pytest.mark.parametrize("url", sorted(ENDPOINTS))
def test_schema__documents_the_body_each_endpoint_answers(api, stock_factory, url):
    """Each endpoint's documented 200 body has exactly the keys the endpoint answers with,
    and its documented errors use the one error body."""
    stock_factory(ticker="ACME", name="Acme Corp", change_percent=1.5)
    schema = yaml.safe_load(api.get("/api/schema/").content)
    operation = next(
        ops["get"] for path, ops in schema["paths"].items()
        if path.rstrip("/?") == ENDPOINTS[url].rstrip("/")
    )  # fmt: skip
    documented = _component(
        schema, operation["responses"]["200"]["content"]["application/json"]["schema"]
    )

    body = api.get(url).json()

    assert set(body) == set(documented["properties"])
    for status, response in operation["responses"].items():
        if status != "200":
            error = _component(schema, response["content"]["application/json"]["schema"])
            assert set(error["properties"]) == {"error"}


def test_schema__page_and_page_size_start_at_one(api):
    """page=0 and page_size=0 are refused, and the schema says so."""
    schema = yaml.safe_load(api.get("/api/schema/").content)
    list_path = next(p for p in schema["paths"] if p.rstrip("/?") == "/api/stocks")
    parameters = {p["name"]: p for p in schema["paths"][list_path]["get"]["parameters"]}
    assert _value_schema(parameters["page"]["schema"])["minimum"] == 1
    assert _value_schema(parameters["page_size"]["schema"])["minimum"] == 1


def _value_schema(schema: dict) -> dict:
    """An optional parameter's schema is its value's, or blank (its default): the value's."""
    value, blank = schema["anyOf"]
    assert blank == {"type": "string", "pattern": "^\\s*$"}
    return value


def test_schema__generates_without_warnings():
    """The schema generator has nothing to guess: every operation and parameter is declared."""
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", "/dev/null")


def test_schema__screen_parameters_carry_their_bounds(api):
    """The registry's bounds reach the schema: RSI 0-100, digit limits, the tickers cap."""
    schema = yaml.safe_load(api.get("/api/schema/").content)
    list_path = next(p for p in schema["paths"] if p.rstrip("/?") == "/api/stocks")
    parameters = {
        p["name"]: _value_schema(p["schema"])
        for p in schema["paths"][list_path]["get"]["parameters"]
        if "anyOf" in p["schema"]
    }

    assert (parameters["rsi_min"]["minimum"], parameters["rsi_max"]["maximum"]) == (0, 100)
    price = parameters["price_min"]
    assert (price["minimum"], price["maximum"]) == (-(10**18), 10**18)
    assert price["exclusiveMinimum"] is price["exclusiveMaximum"] is True
    assert parameters["tickers"]["maxLength"] == TICKERS_MAX_LENGTH
    assert parameters["fields"]["maxLength"] == FIELDS_MAX_LENGTH
    assert parameters["cursor"]["maxLength"] == MAX_CURSOR_LENGTH
    assert set(parameters["ordering"]["enum"]) >= {"price", "-price", "name", "-ticker"}


# gunicorn's cap on the request line (gunicorn.conf.py), within nginx's 8 KB buffer.
MAX_REQUEST_LINE = 8190
# The longest text of a number the schema allows: str() of a double, e.g. -1.2345678901234567e-300.
LONGEST_NUMBER = 24


def _longest(schema: dict) -> int:
    """The most characters a value of ``schema`` takes in a query string (numbers as str())."""
    if "anyOf" in schema:
        return max(_longest(alternative) for alternative in schema["anyOf"])
    if "enum" in schema:
        return max(len(str(value)) for value in schema["enum"])
    if schema.get("type") in ("number", "integer"):
        return LONGEST_NUMBER
    if schema.get("type") == "boolean":
        return len("false")
    if schema.get("pattern") == "^\\s*$":
        return 0  # blank: the default (long white space is no use to anyone)
    return schema["maxLength"]


def test_schema__every_screen_parameter_at_its_longest_fits_in_one_url(api):
    """Each string has a maxLength, and all of them at once (and every number at its longest
    text) still fit in gunicorn's request line: no GET the schema allows is refused by the
    server in front of the app. (Longer screens go as POST /api/stocks/screen/.)"""
    schema = yaml.safe_load(api.get("/api/schema/").content)
    path = next(p for p in schema["paths"] if p.rstrip("/?") == "/api/stocks")
    query = "&".join(
        f"{p['name']}=" + "0" * _longest(p["schema"])
        for p in schema["paths"][path]["get"]["parameters"]
    )
    line = f"GET {path}?{query} HTTP/1.1"
    assert len(line) <= MAX_REQUEST_LINE, len(line)


def _routes(patterns, prefix=""):
    """Every URL pattern of the app's own URLconf, as (full regex, name)."""
    for pattern in patterns:
        regex = prefix + str(pattern.pattern).lstrip("^")
        if hasattr(pattern, "url_patterns"):
            yield from _routes(pattern.url_patterns, regex)
        else:
            yield regex, pattern.name


def test_every_route__the_trailing_slash_is_optional():
    """README: "the trailing slash of every path is optional" - each pattern says so itself."""
    from stocks import urls

    routes = list(_routes(urls.urlpatterns))
    assert len(routes) > 15
    for regex, name in routes:
        if name is None:  # the catch-all JSON 404 under /api/
            assert regex == "api/", regex
            continue
        assert regex.endswith("/?$"), (name, regex)


def test_schema__the_screen_body_as_the_view_reads_it(api, stock_factory):
    """Each member may be null (absent); unknown members are scalars, ignored; fields and
    tickers may be lists. What the schema allows, the view accepts."""
    schema = yaml.safe_load(api.get("/api/schema/").content)
    path = next(p for p in schema["paths"] if p.rstrip("/?") == "/api/stocks/screen")
    body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert all(prop["nullable"] for prop in body["properties"].values())
    assert body["additionalProperties"]["nullable"] is True
    for name in ("tickers", "fields"):
        assert body["properties"][name]["anyOf"][1]["type"] == "array"
    stock_factory(ticker="AAPL")
    accepted = api.post(
        path, {"price_min": None, "unknown": 3, "fields": ["ticker", "price"]}, format="json"
    )
    assert accepted.status_code == 200, accepted.content
    refused = api.post(path, {"unknown": {"nested": 1}}, format="json")
    assert refused.status_code == 400


def _screen_schema(api) -> dict:
    schema = yaml.safe_load(api.get("/api/schema/").content)
    path = next(p for p in schema["paths"] if p.rstrip("/?") == "/api/stocks")
    return {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"]}


def _accepts(schema: dict, text: str) -> bool:
    """Whether a query-string value matches the schema (its string alternatives)."""
    import re

    alternatives = schema.get("anyOf", [schema])
    for alternative in alternatives:
        if "anyOf" in alternative and _accepts(alternative, text):
            return True
        if alternative.get("type") == "boolean" and text in ("true", "false"):
            return True
        pattern = alternative.get("pattern")
        if pattern is not None and re.search(pattern, text) is not None and "\n" not in text:
            return True
    return False


@pytest.mark.parametrize(
    ("param", "texts"),
    [
        ("above_sma50", ["true", "FALSE", " Yes", "0", "1 ", "on", "oFF", "", " ", "tru", "2",
                         "yess", "t", "-1"]),
        ("near_52w_high", ["true", "YES", "On", " ", "no", "false", "off"]),
        ("fields", ["ticker", "ticker,price", " ticker , ,price ", "", ",", "nope",
                    "ticker,nope", "TICKER", "ticker;price"]),
    ],
)  # fmt: skip
def test_schema__patterns_say_what_the_parser_accepts(api, stock_factory, param, texts):
    """For each value, the schema's verdict is the API's: 200 exactly when it matches."""
    schema = _screen_schema(api)[param]
    stock_factory()
    for text in texts:
        status = api.get("/api/stocks/", {param: text}).status_code
        assert status == (200 if _accepts(schema, text) else 400), (param, text, status)
