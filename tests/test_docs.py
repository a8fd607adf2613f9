"""OpenAPI schema and docs UI, with assets served by the app itself (no CDN)."""

import re

import pytest
import yaml

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
