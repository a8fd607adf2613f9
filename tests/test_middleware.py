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


@pytest.mark.django_db
def test_off_the_api__an_api_answer_needs_neither(api, admin_client):
    """The API answers without them; a staff session still reaches an operator view."""
    assert api.get("/api/stocks/").status_code == 200
    assert admin_client.get("/health/detailed/").status_code == 200
