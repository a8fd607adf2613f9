"""POST /api/stocks/screen/: the screen with its parameters in a JSON body."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stocks.screen.fields import MAX_TICKERS

from .factories import StockFactory, make_key

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


def test_post__a_body_over_64_kb_is_400_json(api):
    raw = b'{"sector": "' + b"x" * 70_000 + b'"}'
    response = api.generic("POST", URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
