"""POST /api/stocks/screen/: the screen with its parameters in a JSON body."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from stocks.screen.fields import MAX_TICKERS

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


@pytest.mark.parametrize(
    ("body", "parameter", "message"),
    [
        ({"sector": ["Energy", "Utilities"]}, "sector", "Must be a string, a number or a boolean."),
        ({"fields": [1]}, "fields", "Must be a list of strings."),
        ('{"price_min": 1e400}', "price_min", "Must be a finite number."),
    ],
)
def test_post__lists_only_where_the_parameter_is_a_list(api, body, parameter, message):
    raw = body if isinstance(body, str) else json.dumps(body)
    response = api.generic("POST", URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {parameter: [message]}


def test_post__numbers_as_json_writes_them(api, stocks):
    body = {"page_size": 5.0, "price_min": 1.5e-3, "price_max": 1e2, "sector": None}
    response = api.post(URL, body, format="json")
    assert response.status_code == 200
    expected = api.get("/api/stocks/", {"page_size": 5, "price_min": "0.0015", "price_max": 100})
    assert response.json() == expected.json()
