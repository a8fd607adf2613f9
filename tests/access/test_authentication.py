"""API keys on the public API: X-API-Key or Authorization: Api-Key (stocks.access)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stocks.access import keys
from stocks.access.models import APIKey
from stocks.services.api_keys import revoke_key

from ..factories import StockFactory, make_key

pytestmark = pytest.mark.django_db

URL = "/api/stocks/"


@pytest.fixture
def stock():
    return StockFactory(ticker="AAPL")


def error_of(response) -> dict:
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


def test_no_key__anonymous_caller_is_answered(api, stock):
    assert api.get(URL).status_code == 200


@pytest.mark.parametrize("header", ["x-api-key", "authorization"])
def test_valid_key__either_header(api, stock, header):
    _, secret = make_key()
    extra = (
        {"HTTP_X_API_KEY": secret}
        if header == "x-api-key"
        else {"HTTP_AUTHORIZATION": f"Api-Key {secret}"}
    )
    response = api.get(URL, **extra)
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_authorization_keyword_is_case_insensitive(api, stock):
    _, secret = make_key()
    assert api.get(URL, HTTP_AUTHORIZATION=f"api-key {secret}").status_code == 200


def test_other_authorization_schemes_are_anonymous(api, stock):
    """Bearer or Basic credentials are not ours to judge: the caller is anonymous."""
    assert api.get(URL, HTTP_AUTHORIZATION="Bearer abc").status_code == 200


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "Malformed"),
        ("short", "Malformed"),
        ("abcdefgh.tooshort", "Malformed"),
        ("abcdefgh." + "x" * 31 + "!", "Malformed"),
        ("abcdefgh." + "x" * 32, "Unknown"),
    ],
)
def test_bad_key__401_with_the_error_body(api, stock, given, message):
    response = api.get(URL, HTTP_X_API_KEY=given)
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "invalid_api_key"
    assert error["message"].startswith(message)
    assert response["WWW-Authenticate"].startswith("Api-Key")


def test_right_prefix_wrong_secret__401(api, stock):
    _, secret = make_key()
    forged = secret[:9] + ("A" if secret[9] != "A" else "B") + secret[10:]
    response = api.get(URL, HTTP_X_API_KEY=forged)
    assert response.status_code == 401
    assert error_of(response)["message"] == "Unknown API key."


def test_revoked_key__401_at_once_in_this_process(api, stock):
    key, secret = make_key()
    assert api.get(URL, HTTP_X_API_KEY=secret).status_code == 200
    revoke_key(prefix=key.prefix)
    response = api.get(URL, HTTP_X_API_KEY=secret)
    assert response.status_code == 401
    assert error_of(response)["message"] == "This API key has been revoked."


def test_revoked_elsewhere__401_within_api_key_cache_seconds(api, stock, settings):
    """Another process's revocation (no signal here) applies once the memory expires."""
    key, secret = make_key()
    settings.API_KEY_CACHE_SECONDS = 60
    assert api.get(URL, HTTP_X_API_KEY=secret).status_code == 200
    APIKey.objects.filter(pk=key.pk).update(revoked=True)  # as another process would
    assert api.get(URL, HTTP_X_API_KEY=secret).status_code == 200
    settings.API_KEY_CACHE_SECONDS = 0
    assert api.get(URL, HTTP_X_API_KEY=secret).status_code == 401


def test_expired_key__401(api, stock):
    _, secret = make_key(expiry_date=timezone.now() - timedelta(seconds=1))
    response = api.get(URL, HTTP_X_API_KEY=secret)
    assert response.status_code == 401
    assert error_of(response)["message"] == "This API key has expired."


def test_key_expiring_later__accepted(api, stock):
    _, secret = make_key(expiry_date=timezone.now() + timedelta(days=1))
    assert api.get(URL, HTTP_X_API_KEY=secret).status_code == 200


def test_bad_key_refused_before_the_cache(api, stock):
    """A cached answer is never a way around a bad key."""
    assert api.get(URL).status_code == 200  # now cached
    assert api.get(URL, HTTP_X_API_KEY="nope").status_code == 401


# --- origins ------------------------------------------------------------------------------


def test_origin_bound_key__other_origin_403(api, stock):
    _, secret = make_key(allowed_origins="https://members.example.com")
    response = api.get(URL, HTTP_X_API_KEY=secret, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert error_of(response)["code"] == "origin_not_allowed"


def test_origin_bound_key__its_origin_and_server_side_calls_pass(api, stock):
    _, secret = make_key(allowed_origins="https://members.example.com, https://example.com")
    for origin in ("https://members.example.com", "HTTPS://EXAMPLE.COM:443"):
        assert api.get(URL, HTTP_X_API_KEY=secret, HTTP_ORIGIN=origin).status_code == 200
    assert api.get(URL, HTTP_X_API_KEY=secret).status_code == 200  # no Origin: server side


def test_unbound_key__any_origin(api, stock):
    _, secret = make_key()
    assert api.get(URL, HTTP_X_API_KEY=secret, HTTP_ORIGIN="https://x.example").status_code == 200


def test_publishable_key_needs_origins():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="must name the origins"):
        make_key(plan="free", publishable=True)


def test_publishable_key__read_only(stock):
    """Unsafe methods with a publishable key are refused before any view logic."""
    from django.test import RequestFactory
    from rest_framework import exceptions
    from rest_framework.request import Request

    from stocks.access.authentication import APIKeyAuthentication

    _, secret = make_key(plan="free", publishable=True, allowed_origins="https://example.com")
    request = Request(RequestFactory().post("/api/stocks/", HTTP_X_API_KEY=secret))
    with pytest.raises(exceptions.PermissionDenied, match="read-only"):
        APIKeyAuthentication().authenticate(request)
    get = Request(RequestFactory().get("/api/stocks/", HTTP_X_API_KEY=secret))
    user, record = APIKeyAuthentication().authenticate(get)
    assert record.publishable and user.is_authenticated


# --- cost ---------------------------------------------------------------------------------


def test_key_costs_no_query_once_known(api, stock, settings):
    settings.API_KEY_CACHE_SECONDS = 60
    _, secret = make_key()
    api.get(URL, HTTP_X_API_KEY=secret)
    with CaptureQueriesContext(connection) as queries:
        assert api.get(URL, HTTP_X_API_KEY=secret).status_code == 200
    assert len(queries) == 0


def test_last_used__written_at_most_once_a_minute(api, stock, monkeypatch):
    key, secret = make_key()
    assert key.last_used is None
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert api.get(URL, HTTP_X_API_KEY=secret).status_code == 200
    updates = [q for q in queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    key.refresh_from_db()
    assert timezone.now() - key.last_used < timedelta(seconds=30)


def test_last_used__other_processes_do_not_write_the_same_minute(api, stock):
    """The minute is claimed in the shared cache: a second process finds it taken."""
    _, secret = make_key()
    api.get(URL, HTTP_X_API_KEY=secret)
    keys._touched.clear()  # a second process: its own memory is empty
    with CaptureQueriesContext(connection) as queries:
        api.get(URL, HTTP_X_API_KEY=secret)
    assert not [q for q in queries if q["sql"].startswith("UPDATE")]


def test_last_used__database_failure_does_not_fail_the_request(api, stock, monkeypatch, caplog):
    from django.db import DatabaseError

    _, secret = make_key()

    def broken(*args, **kwargs):
        raise DatabaseError("read-only replica")

    monkeypatch.setattr(APIKey.objects.get_queryset().__class__, "update", broken)
    keys._touched.clear()
    assert api.get(URL, HTTP_X_API_KEY=secret).status_code == 200
    assert "could not record the use of key" in caplog.text


def test_no_vary_cookie_on_the_public_api(api, stock):
    response = api.get(URL)
    assert "Cookie" not in response.get("Vary", "")
