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
        # The same without the trailing slash (no redirect, no 404), and the detail paths.
        "/api/stocks",
        "/api/stocks/AB",
        "/api/stocks/AB/history",
        "/api/realtime/AB",
        "/api/market/sectors",
        "/api/market/movers",
        "/api/stocks/search?q=ab",
    ],
)
def test_endpoint__answers_200(api, stock_factory, path):
    """Every endpoint answers 200 with a stock present, with or without its trailing slash."""
    stock_factory(ticker="AB", name="Abacus Corp")
    assert api.get(path).status_code == 200
