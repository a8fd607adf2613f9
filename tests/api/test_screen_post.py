"""POST /api/stocks/screen/: the screen with its parameters in a JSON body."""

from __future__ import annotations

import functools
import json
from decimal import Decimal

import pytest

from stocks.screen.fields import LIST_FIELDS, MAX_TICKERS

from ..factories import StockFactory, make_key

pytestmark = pytest.mark.django_db

URL = "/api/stocks/screen/"


@pytest.fixture
def stocks():
    for n in range(30):
        StockFactory(
            ticker=f"S{n:02d}", price=Decimal(10 + n), sector="Energy" if n % 2 else "Utilities"
        )


def test_post__the_same_answer_as_get(api, stocks):
    params = {"sector": "Energy", "price_min": "15", "ordering": "-price", "page_size": "5"}
    get = api.get("/api/stocks/", params)
    post = api.post(URL, {**params, "price_min": 15, "page_size": 5}, format="json")
    assert post.status_code == 200
    assert post.json() == get.json()  # links included: they are the list's GET links


def test_post__a_screen_too_long_for_a_url(api, stocks):
    tickers = [f"S{n:02d}" for n in range(30)] + [f"NOPE{n:05d}" for n in range(MAX_TICKERS - 30)]
    assert len(",".join(tickers)) > 4000
    response = api.post(URL, {"tickers": tickers, "page_size": 50}, format="json")
    assert response.status_code == 200
    assert response.json()["count"] == 30


def test_post__booleans_and_lists(api, stocks):
    response = api.post(URL, {"above_sma50": False, "tickers": ["S01", "s02"]}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"price_min": "cheap"}, "price_min"),
        ({"price_min": {"gte": 1}}, "price_min"),
        ({"tickers": [1, 2]}, "tickers"),
        ({"page_size": 0}, "page_size"),
    ],
)
def test_post__bad_values_400_naming_the_parameter(api, stocks, body, parameter):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert parameter in response.json()["error"]["details"]


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"{not json"])
def test_post__not_an_object_400(api, raw):
    response = api.generic("POST", URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


def test_post__publishable_key_may_screen(api, stocks):
    _, key = make_key(plan="free", publishable=True, allowed_origins="https://example.com")
    response = api.post(URL, {"sector": "Energy"}, format="json", HTTP_X_API_KEY=key)
    assert response.status_code == 200


def test_get__405(api):
    response = api.get(URL)
    assert response.status_code == 405 and response["Allow"].startswith("POST")


def test_post__a_body_over_64_kb_is_413_before_it_is_parsed(api):
    raw = json.dumps({"tickers": [f"T{n:05d}" for n in range(300_000)]}).encode()  # 2.7 MB
    response = api.generic("POST", URL, raw, content_type="application/json")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request_too_large" and "64 KB" in error["message"]


LIST_FIELDS_MESSAGE = f"Each item must be one of: {', '.join(LIST_FIELDS)}."


@pytest.mark.parametrize(
    ("body", "parameter", "message"),
    [
        ({"sector": ["Energy", "Utilities"]}, "sector", "Must be a string."),
        ({"sector": 5}, "sector", "Must be a string."),
        ({"ordering": True}, "ordering", "Must be a string."),
        ({"fields": [1]}, "fields", LIST_FIELDS_MESSAGE),
        ({"fields": [" price"]}, "fields", LIST_FIELDS_MESSAGE),
        ({"fields": ["price"] * 25}, "fields", LIST_FIELDS_MESSAGE),
        ({"tickers": [1, 2]}, "tickers", "Each item must be a ticker symbol."),
        ({"tickers": ["AAPL", " MSFT"]}, "tickers", "Each item must be a ticker symbol."),
        ({"tickers": ["AAPL", ""]}, "tickers", "Each item must be a ticker symbol."),
        ({"tickers": {"AAPL": 1}}, "tickers", "Must be a string or a list of strings."),
        ({"tickers": ["A"] * 501}, "tickers", "At most 500 tickers."),
        ('{"price_min": 1e400}', "price_min", "Must be less than 10^18 in absolute value."),
        (
            '{"page": "1111111111111111111111111111111x"}',
            "page",
            "Must be a positive whole number.",
        ),
        ({"price_min": True}, "price_min", "Must be a number."),
        ({"price_min": "1e5"}, "price_min", "Must be a number."),  # text: plain decimals
        ({"price_min": "1" * 19}, "price_min", "Must be a number."),  # text: its bound too
        ({"rsi_min": "100.5"}, "rsi_min", "Must be a number."),
        ({"above_sma50": 0}, "above_sma50", "Must be a boolean."),
        ({"above_sma50": 1.0}, "above_sma50", "Must be a boolean."),
        ({"page_size": 5.0}, "page_size", "Must be a positive whole number."),
        ({"page_size": True}, "page_size", "Must be a positive whole number."),
        ({"page": "0"}, "page", "Must be a positive whole number."),
        ({"page": " 2"}, "page", "Must be a positive whole number."),
        ({"utm": ["x"]}, "utm", "Must be a string, a number or a boolean."),
    ],
)
def test_post__a_member_of_a_type_its_parameter_does_not_take(api, body, parameter, message):
    """Each member takes the JSON types its schema states, and nothing else: a 400 naming it."""
    raw = body if isinstance(body, str) else json.dumps(body)
    response = api.generic("POST", URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {parameter: [message]}


def test_post__numbers_as_json_writes_them(api, stocks):
    body = {"page_size": 5, "price_min": 1.5e-3, "price_max": 1e2, "sector": None}
    response = api.post(URL, body, format="json")
    assert response.status_code == 200
    expected = api.get("/api/stocks/", {"page_size": 5, "price_min": "0.0015", "price_max": 100})
    assert response.json() == expected.json()


@pytest.mark.parametrize(
    ("raw", "query"),
    [
        ('{"price_min": 10.00000000000000001}', {"price_min": "10.00000000000000001"}),
        ('{"volume_min": 1000.0000000000001}', {"volume_min": "1000.0000000000001"}),
        ('{"price_min": 999999999999999999.5}', {"price_min": "999999999999999999.5"}),
        ('{"price_min": 1e-999999999}', {"price_min": "1e-999999999"}),
        ('{"unknown": 1e400}', {}),
    ],
)
def test_post__json_numbers_exactly_as_written(api, stocks, raw, query):
    """A JSON number is read as written, never through a double: the POST is the GET."""
    response = api.generic("POST", URL, raw, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json() == api.get("/api/stocks/", query).json()


@pytest.mark.parametrize(
    "body",
    [
        {"price_min": "15", "page_size": "005", "page": " "},  # a PHP form's values, as text
        {"price_min": " +15.000 ", "rsi_max": "-0", "near_52w_high": "100."},
        {"near_52w_high": True, "above_sma50": "No", "above_sma200": False},
        {"near_52w_high": " yes ", "tickers": "s01, s02,", "fields": ["ticker", "price"]},
        {"tickers": ["S01", "brk-b", "BRK/B"], "fields": "ticker,,price"},
        {"tickers": [], "fields": [], "cursor": "", "ordering": "-price"},
        {"unknown": 3, "other": None, "flag": False, "note": "text"},
    ],
)
def test_post__every_form_the_schema_states_is_taken(api, stocks, body):
    assert api.post(URL, body, format="json").status_code == 200


def _openapi_to_json_schema(schema):
    """OpenAPI 3.0's ``nullable`` as JSON Schema (draft 4) says it, everywhere in ``schema``."""
    if isinstance(schema, list):
        return [_openapi_to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _openapi_to_json_schema(value) for key, value in schema.items()}
    if converted.pop("nullable", False):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.cache
def _body_validator():
    from drf_spectacular.generators import SchemaGenerator
    from jsonschema import Draft4Validator

    document = SchemaGenerator().get_schema(request=None, public=True)
    path = next(p for p in document["paths"] if p.rstrip("/?") == URL.rstrip("/"))
    content = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return Draft4Validator(_openapi_to_json_schema(content["schema"]))


BODIES = [
    {"price_min": 10}, {"price_min": 10.5}, {"price_min": "10.5"}, {"price_min": "1e1"},
    {"price_min": ""}, {"price_min": "  "}, {"price_min": "abc"}, {"price_min": True},
    {"price_min": 10**18}, {"price_min": "1" * 19}, {"price_min": "-" + "9" * 18 + ".99"},
    {"price_min": -(10**18) + 1}, {"price_min": "999999999999999999.9"}, {"rsi_min": 100},
    {"rsi_min": 100.01}, {"rsi_min": "100.0"}, {"rsi_min": "-0.0"}, {"rsi_min": "-0.1"},
    {"rsi_min": "150"}, {"rsi_max": "99.5"}, {"rsi_max": "0100.00"}, {"near_52w_high": True},
    {"near_52w_high": False}, {"near_52w_high": "On"}, {"near_52w_high": "1"},
    {"near_52w_high": " true" + " " * 20}, {"above_sma50": True}, {"above_sma50": "off"},
    {"above_sma50": 1}, {"above_sma50": "2"}, {"page": 1}, {"page": 0},
    {"page": "3", "page_size": "5"}, {"page": 2.0}, {"page_size": "0010"}, {"sector": "Energy"},
    {"sector": 1}, {"sector": "x" * 65}, {"sector": "a\u0000b"}, {"tickers": "AAPL,MSFT"},
    {"tickers": "AAPL MSFT"}, {"tickers": ["AAPL"] * 500}, {"tickers": "STRA\u00dfE"},
    {"fields": ["price"]}, {"fields": ["nope"]}, {"fields": "price,nope"}, {"ordering": "-price"},
    {"ordering": "nope"}, {"cursor": "abc"}, {"cursor": ""}, {"x": {"y": 1}}, {"x": [1]},
    {"x": 1.5},
]  # fmt: skip


@pytest.mark.parametrize("body", BODIES, ids=[json.dumps(body)[:60] for body in BODIES])
def test_post__the_schema_and_the_view_agree(api, stocks, body):
    """A body the schema allows is answered (200); one it does not is a 400."""
    valid = _body_validator().is_valid(body)

    status = api.post(URL, body, format="json").status_code

    assert status == (200 if valid else 400), (valid, status)
