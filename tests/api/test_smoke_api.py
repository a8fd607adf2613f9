"""The endpoints answer at all (details in the feature modules)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/api/stocks/",
        "/api/stocks/fields/",
        "/api/stocks/search/?q=ab",
        "/api/market/sectors/",
        "/api/market/movers/",
        "/api/schema/",
        "/api/docs/",
    ],
)
def test_endpoint__answers_200(api, stock_factory, path):
    """Every collection endpoint answers 200 with a stock present."""
    stock_factory(ticker="AB", name="Abacus Corp")
    assert api.get(path).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/stocks",
        "/api/stocks/AB",
        "/api/stocks/AB/history",
        "/api/realtime/AB",
        "/api/market/sectors",
        "/api/market/movers",
        "/api/stocks/search?q=ab",
    ],
)
def test_endpoint__trailing_slash_optional(api, stock_factory, path):
    """Paths answer the same without their trailing slash (no redirect, no 404)."""
    stock_factory(ticker="AB", name="Abacus Corp")
    assert api.get(path).status_code == 200
