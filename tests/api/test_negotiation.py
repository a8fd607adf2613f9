"""Content negotiation, decided once per Accept header (stocks/api/negotiation.py)."""

from __future__ import annotations

import pytest

from stocks.api import negotiation

pytestmark = pytest.mark.django_db

URL = "/api/stocks/fields/"


@pytest.mark.parametrize("accept", ["*/*", "application/json", "application/*;q=0.5, */*"])
def test_negotiation__the_same_answer_the_second_time_without_deciding_again(api, accept):
    negotiation._decide.cache_clear()
    first = api.get(URL, HTTP_ACCEPT=accept)
    decided = negotiation._decide.cache_info()
    second = api.get(URL, HTTP_ACCEPT=accept)

    assert first.status_code == second.status_code == 200
    assert first["Content-Type"] == second["Content-Type"] == "application/json"
    assert first.content == second.content
    assert (decided.misses, negotiation._decide.cache_info().hits) == (1, decided.hits + 1)


def test_negotiation__a_refusal_is_a_406_every_time(api):
    for _ in range(2):
        response = api.get(URL, HTTP_ACCEPT="text/html")
        assert response.status_code == 406
        assert response.json()["error"]["code"] == "not_acceptable"


def test_negotiation__format_json_is_decided_apart_from_no_format(api):
    negotiation._decide.cache_clear()
    assert api.get(URL, {"format": "json"}).status_code == 200
    assert api.get(URL).status_code == 200
    assert negotiation._decide.cache_info().misses == 2


def test_negotiation__an_unknown_format_is_a_404_with_other_parameters_too(api):
    response = api.get("/api/stocks/", {"page_size": 5, "format": "yaml"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_negotiation__the_query_string_is_parsed_only_when_it_names_a_format(rf):
    from rest_framework.renderers import JSONRenderer
    from rest_framework.request import Request

    chooser = negotiation.RememberedContentNegotiation()
    plain = rf.get("/api/stocks/", {"ordering": "-price", "page_size": "5"})
    chooser.select_renderer(Request(plain), [JSONRenderer()])
    assert "GET" not in plain.__dict__  # request.GET (a cached property) never built

    named = rf.get("/api/stocks/", {"format": "json"})
    renderer, media_type = chooser.select_renderer(Request(named), [JSONRenderer()])
    assert (type(renderer), media_type) == (JSONRenderer, "application/json")
    assert "GET" in named.__dict__
