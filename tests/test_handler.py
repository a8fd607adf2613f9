"""stockscanner_django/handler.py: the WSGI handler remembers each path's URL resolution."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import Resolver404, URLResolver, clear_url_caches, get_resolver, set_urlconf

from stockscanner_django import handler
from stockscanner_django.handler import REMEMBERED_PATH_CHARS, WSGIHandler


@pytest.fixture
def resolutions(monkeypatch):
    """Each full resolution from the URLconf's root, as the path it resolved."""
    handler._resolve.cache_clear()
    walked: list[str] = []
    resolve = URLResolver.resolve

    def counting(self, path):
        if self is get_resolver():
            walked.append(path)
        return resolve(self, path)

    monkeypatch.setattr(URLResolver, "resolve", counting)
    yield walked
    handler._resolve.cache_clear()
    set_urlconf(None)  # a request's own URLconf (request.urlconf) is left set for the thread


def resolve(path: str, **attributes):
    request = RequestFactory().get(path)
    for name, value in attributes.items():
        setattr(request, name, value)
    return request, WSGIHandler().resolve_request(request)


def test_resolve_request__a_path_is_resolved_once(resolutions):
    first_request, first = resolve("/api/stocks/AAPL/")
    second_request, second = resolve("/api/stocks/AAPL/")

    assert resolutions == ["/api/stocks/AAPL/"]
    assert second is first
    assert second_request.resolver_match is first_request.resolver_match is first
    assert first.url_name == "stock-detail"
    assert first.kwargs == {"ticker": "AAPL"}


@pytest.mark.django_db
def test_resolve_request__a_shared_match_cannot_be_changed(resolutions):
    """Django hands a match's kwargs to each middleware's process_view: read-only here."""
    _, match = resolve("/api/stocks/AAPL/")
    with pytest.raises(TypeError):
        match.kwargs["ticker"] = "EVIL"
    _, again = resolve("/api/stocks/AAPL/")
    assert again.kwargs == {"ticker": "AAPL"}
    func, args, kwargs = again  # as Django's handler unpacks it
    # The view gets them as ever (no such stock here: the API's 404).
    assert func(RequestFactory().get("/api/stocks/AAPL/"), *args, **kwargs).status_code == 404


def test_resolve_request__each_path_its_own_match(resolutions):
    _, apple = resolve("/api/stocks/AAPL/")
    _, microsoft = resolve("/api/stocks/MSFT/")
    _, listing = resolve("/api/stocks/")

    assert (apple.kwargs, microsoft.kwargs, listing.kwargs) == (
        {"ticker": "AAPL"},
        {"ticker": "MSFT"},
        {},
    )
    assert listing.url_name == "stock-list"
    assert len(resolutions) == 3


def test_resolve_request__no_match_is_not_kept(resolutions):
    for _ in range(2):
        with pytest.raises(Resolver404):
            resolve("/nothing/here/")
    assert resolutions == ["/nothing/here/", "/nothing/here/"]
    assert handler._resolve.cache_info().currsize == 0


def test_resolve_request__paths_up_to_the_limit_are_kept(resolutions):
    path = "/api/stocks/" + "A" * (REMEMBERED_PATH_CHARS - len("/api/stocks//")) + "/"
    assert len(path) == REMEMBERED_PATH_CHARS
    assert resolve(path)[1] is resolve(path)[1]
    assert len(resolutions) == 1


def test_resolve_request__long_paths_are_resolved_each_time(resolutions):
    path = "/api/stocks/" + "A" * REMEMBERED_PATH_CHARS + "/"
    first, second = resolve(path)[1], resolve(path)[1]
    assert first.func.__name__ == second.func.__name__ == "api_not_found"  # /api/'s JSON 404
    assert second is not first
    assert len(resolutions) == 2
    assert handler._resolve.cache_info().currsize == 0


def test_resolve_request__a_reloaded_urlconf_resolves_afresh(resolutions):
    _, before = resolve("/api/stocks/")
    clear_url_caches()  # what Django does when ROOT_URLCONF changes
    _, after = resolve("/api/stocks/")

    assert after is not before
    assert after.url_name == before.url_name == "stock-list"
    assert len(resolutions) == 2


def test_resolve_request__a_request_urlconf_is_djangos(resolutions):
    """A middleware may route a request elsewhere (request.urlconf): Django resolves it."""
    _, match = resolve("/bench/noop/", urlconf="bench.urls")
    assert match.func.__name__ == "noop"
    with pytest.raises(Resolver404):
        resolve("/bench/noop/")
    assert handler._resolve.cache_info().currsize == 0
