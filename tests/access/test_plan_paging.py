"""What a plan may ask of the screen: page size, page depth, cursors."""

from __future__ import annotations

import pytest

from stocks.access.models import Plan
from stocks.models import Stock

from ..factories import make_key

pytestmark = pytest.mark.django_db

URL = "/api/stocks/"


@pytest.fixture
def stocks():
    Stock.objects.bulk_create(Stock(ticker=f"P{n:03d}", name=f"Stock {n}") for n in range(120))


def test_page_size__capped_at_the_plans_maximum(api, stocks, limits):
    _, free = make_key(plan="free")  # max page size 100
    _, pro = make_key(plan="pro")  # 500
    assert len(api.get(URL, {"page_size": 500}, HTTP_X_API_KEY=free).json()["results"]) == 100
    assert len(api.get(URL, {"page_size": 500}, HTTP_X_API_KEY=pro).json()["results"]) == 120
    anonymous = api.get(URL, {"page_size": 500}).json()  # the anonymous plan: 50
    assert len(anonymous["results"]) == 50
    assert "page_size=50" in anonymous["next"]


def test_page_depth__beyond_the_plan_403(api, stocks, limits):
    _, free = make_key(plan="free")  # 20 pages deep
    assert api.get(URL, {"page_size": 1, "page": 20}, HTTP_X_API_KEY=free).status_code == 200
    response = api.get(URL, {"page_size": 1, "page": 21}, HTTP_X_API_KEY=free)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "plan_limit"
    assert "20 pages deep" in error["details"]["page"][0]
    _, pro = make_key(plan="pro")
    assert api.get(URL, {"page_size": 1, "page": 100}, HTTP_X_API_KEY=pro).status_code == 200


def test_cursor__only_on_plans_that_include_it(api, stocks, limits):
    _, free = make_key(plan="free")
    refused = api.get(URL, {"cursor": ""}, HTTP_X_API_KEY=free)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == {
        "cursor": ["The Free plan does not include cursor paging."]
    }
    _, basic = make_key(plan="basic")
    assert api.get(URL, {"cursor": ""}, HTTP_X_API_KEY=basic).status_code == 200


def test_plan_edited_in_the_admin_applies(api, stocks, limits):
    Plan.objects.filter(slug="free").update(max_page_size=7, max_page=None, cursor_paging=True)
    _, free = make_key(plan="free")
    body = api.get(URL, {"page_size": 100, "page": 15}, HTTP_X_API_KEY=free).json()
    assert len(body["results"]) == 7
    assert api.get(URL, {"cursor": ""}, HTTP_X_API_KEY=free).status_code == 200


def test_limits_off__the_api_caps_only(api, stocks):
    _, free = make_key(plan="free")
    assert len(api.get(URL, {"page_size": 500}, HTTP_X_API_KEY=free).json()["results"]) == 120
