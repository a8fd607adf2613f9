"""The project's URLs and error handlers, plus /cached/ answered through the response cache."""

from __future__ import annotations

import json

from django.urls import include, path

from stocks.caching import cached_response

# Long enough to be stored gzipped.
BODY = json.dumps({"results": [{"ticker": f"T{i:03}", "price": i} for i in range(40)]}).encode()


def render() -> bytes:
    """Replaced by the tests (monkeypatch) to count calls."""
    return BODY


def cached(request):
    return cached_response(
        request,
        namespace="stocks",
        endpoint="test-cached",
        params={},
        render=lambda version: render(),
    )


urlpatterns = [
    path("cached/", cached, name="test-cached"),
    path("", include("stockscanner_django.urls")),
]

handler400 = "stocks.errors.handler400"
handler403 = "stocks.errors.handler403"
handler404 = "stocks.errors.handler404"
handler500 = "stocks.errors.handler500"
