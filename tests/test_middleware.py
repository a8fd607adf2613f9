"""stocks/middleware.py: Django's user and messages only off the public API (OffTheApi)."""

from __future__ import annotations

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse

from stocks.middleware import AuthenticationMiddleware, MessageMiddleware


@pytest.mark.parametrize(
    ("path", "built"),
    [
        ("/api/stocks/", False),
        ("/api/market/movers/", False),
        ("/health/detailed/", True),  # operator views: a staff session
        ("/admin/login/", True),
        ("/apis/", True),  # only the API's own prefix
        ("/api", True),  # no slash: CommonMiddleware's redirect, with the middleware
        ("//api/stocks/", True),
    ],
)
def test_off_the_api__user_and_messages_built_only_off_the_api(rf, path, built):
    seen = {}

    def view(request):
        seen["user"] = hasattr(request, "user")
        seen["messages"] = hasattr(request, "_messages")
        return HttpResponse()

    chain = SessionMiddleware(AuthenticationMiddleware(MessageMiddleware(view)))
    assert chain(rf.get(path)).status_code == 200
    assert seen == {"user": built, "messages": built}


def test_off_the_api__the_path_below_the_script_prefix_decides(rf):
    """Mounted under a prefix (SCRIPT_NAME), /prefix/api/... is still the API."""
    seen = {}

    def view(request):
        seen["user"] = hasattr(request, "user")
        return HttpResponse()

    request = rf.get("/api/stocks/", SCRIPT_NAME="/scanner")
    request.path = "/scanner/api/stocks/"  # as the WSGI handler sets both
    SessionMiddleware(AuthenticationMiddleware(view))(request)
    assert seen == {"user": False}


def test_off_the_api__no_view_under_the_api_reads_a_session():
    """Every view under /api/ authenticates by key or not at all: none by session."""
    from django.urls import URLResolver, get_resolver
    from rest_framework.authentication import SessionAuthentication

    from stocks.urls import API_PREFIX

    def views(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^")
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns, route)
            else:
                yield route, pattern.callback

    found = [(route, view) for route, view in views(get_resolver().url_patterns)]
    api = [(route, view) for route, view in found if route.startswith(API_PREFIX)]
    assert len(api) > 10
    for route, view in api:
        cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
        classes = getattr(cls, "authentication_classes", ()) if cls else ()
        assert SessionAuthentication not in classes, route


@pytest.mark.django_db
def test_off_the_api__an_api_answer_needs_neither(api, admin_client):
    """The API answers without them; a staff session still reaches an operator view."""
    assert api.get("/api/stocks/").status_code == 200
    assert admin_client.get("/health/detailed/").status_code == 200
