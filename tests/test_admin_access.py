"""The admin's door: lockout after failed logins (django-axes), and ADMIN_URL."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import clear_url_caches

import stockscanner_django.urls

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "boss", password="right-password", is_staff=True, is_superuser=True
    )


def attempt(client, username, password, address="203.0.113.5"):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )  # fmt: skip


def test_lockout__per_username_then_even_the_right_password_is_refused(client, staff, settings):
    answers = [
        attempt(client, "boss", "wrong", address=f"198.51.100.{n}").status_code
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the limit-th locks
    locked = attempt(client, "boss", "right-password", address="192.0.2.77")
    assert locked.status_code == 429


def test_lockout__per_address_whatever_the_usernames(client, staff, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"guess{n}", "wrong")
    assert attempt(client, "boss", "right-password").status_code == 429
    assert attempt(client, "boss", "right-password", address="192.0.2.1").status_code == 302


def test_lockout__no_password_hashed_once_locked(client, staff, settings, monkeypatch):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "boss", "wrong")
    hashed = []
    real = PBKDF2PasswordHasher.verify
    monkeypatch.setattr(
        PBKDF2PasswordHasher, "verify", lambda self, *a: hashed.append(1) or real(self, *a)
    )
    assert attempt(client, "boss", "wrong").status_code == 429
    assert hashed == []


def test_success_below_the_limit_resets_the_count(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "boss", "wrong")
    assert attempt(client, "boss", "right-password").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "boss", "wrong")
    assert attempt(client, "boss", "right-password").status_code == 302


def test_lockout__address_through_trusted_proxies(client, staff, settings):
    """Behind our proxy, the lockout is per client, not per proxy."""
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": f"x{n}", "password": "w"}, HTTP_X_FORWARDED_FOR="6.6.6.6")
    ok = client.post(
        LOGIN, {"username": "boss", "password": "right-password"}, HTTP_X_FORWARDED_FOR="7.7.7.7"
    )
    assert ok.status_code == 302


@pytest.fixture
def admin_url(settings):
    """Set ADMIN_URL and rebuild the URLconf; restored afterwards."""

    def use(value: str) -> None:
        settings.ADMIN_URL = value
        importlib.reload(stockscanner_django.urls)
        clear_url_caches()

    yield use
    settings.ADMIN_URL = "admin/"
    importlib.reload(stockscanner_django.urls)
    clear_url_caches()


def test_admin_url__moved(client, admin_url):
    admin_url("back-office-7f3/")
    assert client.get("/back-office-7f3/login/").status_code == 200
    gone = client.get("/admin/login/")
    assert gone.status_code == 404 and gone["Content-Type"] == "application/json"


def test_admin_url__empty_closes_the_admin(client, admin_url):
    admin_url("")
    response = client.get("/admin/login/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


@pytest.mark.parametrize("value", ["/admin/", "admin", "api/admin/", "health/x/"])
def test_admin_url__refused_values(value):
    from .test_settings import _run

    result = _run(ADMIN_URL=value)
    assert result.returncode != 0
    assert "ADMIN_URL" in result.stderr
