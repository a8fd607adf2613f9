"""create_api_key, revoke_api_key, list_api_keys: the operator commands' exit-code contract."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from stocks.access.keys import KEY_PATTERN
from stocks.access.models import APIKey

from ..factories import StockFactory, UserFactory, make_key
from ..support.commands import run, run_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return UserFactory(username="alice")


def test_create__prints_the_key_once_on_stdout_and_stores_only_its_hash(member, api):
    StockFactory(ticker="AAPL")
    result = run("create_api_key", "--user", "alice", "--plan", "pro", "--name", "site")
    assert result.code == 0
    secret = result.out.strip()
    assert KEY_PATTERN.fullmatch(secret)
    assert "cannot be shown again" in result.err
    key = APIKey.objects.get()
    assert (key.prefix, key.name, key.plan.slug, key.user) == (secret[:8], "site", "pro", member)
    assert secret not in key.hashed_key and secret not in key.pk
    assert api.get("/api/stocks/", HTTP_X_API_KEY=secret).status_code == 200


def test_create__json(member):
    report, code = run_json(
        "create_api_key", "--user", "alice", "--plan", "basic", "--origins",
        "https://example.com,https://www.example.com", "--expires", "2099-01-31",
        "--external-id", "wp-42", "--publishable",
    )  # fmt: skip
    assert code == 0
    assert report["status"] == "done"
    assert KEY_PATTERN.fullmatch(report["key"])
    assert report["prefix"] == report["key"][:8]
    assert report["allowed_origins"] == ["https://example.com", "https://www.example.com"]
    assert report["publishable"] is True
    assert report["external_id"] == "wp-42"
    assert report["expires"].startswith("2099-01-31T00:00:00")
    assert report["plan"] == "basic" and report["user"] == "alice"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody", "--plan", "pro"], "No user 'nobody'"),
        (["--user", "alice", "--plan", "gold"], "No plan 'gold'"),
        (["--user", "alice", "--plan", "pro", "--origins", "example.com"], "not an origin"),
        (["--user", "alice", "--plan", "pro", "--publishable"], "must name the origins"),
        (["--user", "alice", "--plan", "pro", "--expires", "2001-01-01"], "in the past"),
        (["--user", "alice", "--plan", "pro", "--expires", "soon"], "YYYY-MM-DD"),
    ],
)
def test_create__refused_with_exit_2_and_nothing_stored(member, args, message):
    result = run("create_api_key", *args)
    assert result.code == 2
    assert message in result.error
    assert not APIKey.objects.exists()
    report, code = run_json("create_api_key", *args)
    assert code == 2 and report["status"] == "failed" and message in report["error"]


def test_revoke__then_again_then_unknown(member, api):
    StockFactory(ticker="AAPL")
    key, secret = make_key(user=member)
    result = run("revoke_api_key", key.prefix)
    assert result.code == 0 and f"Revoked key {key.prefix}" in result.out
    assert api.get("/api/stocks/", HTTP_X_API_KEY=secret).status_code == 401
    report, code = run_json("revoke_api_key", key.prefix)
    assert code == 1 and report["already_revoked"] is True
    result = run("revoke_api_key", "zzzzzzzz")
    assert result.code == 2 and "No API key with prefix" in result.error


def test_list__states_and_never_the_key(member):
    active, active_secret = make_key(user=member, name="active one")
    revoked, _ = make_key(user=member, name="revoked one")
    revoked.revoked = True
    revoked.save()
    expired, _ = make_key(
        user=UserFactory(username="bob"), plan="free",
        expiry_date=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    report, code = run_json("list_api_keys")
    assert code == 0 and report["count"] == 3
    states = {key["prefix"]: key["state"] for key in report["keys"]}
    assert states == {active.prefix: "active", revoked.prefix: "revoked", expired.prefix: "expired"}
    text = run("list_api_keys").out
    assert active.prefix in text and "active one" in text
    everything = text + json.dumps(report)
    assert active_secret not in everything and active.hashed_key not in everything

    only, _ = run_json("list_api_keys", "--active")
    assert [key["prefix"] for key in only["keys"]] == [active.prefix]
    bobs, _ = run_json("list_api_keys", "--user", "bob")
    assert [key["prefix"] for key in bobs["keys"]] == [expired.prefix]
    free, _ = run_json("list_api_keys", "--plan", "free")
    assert [key["prefix"] for key in free["keys"]] == [expired.prefix]


def test_list__none():
    assert run("list_api_keys").out.strip() == "No API keys."


def test_create__not_on_the_anonymous_plan(member):
    result = run("create_api_key", "--user", "alice", "--plan", "anonymous")
    assert result.code == 2 and "No plan 'anonymous'" in result.error


def test_create__long_username_default_name_fits(db):
    UserFactory(username="u" * 60)
    report, code = run_json("create_api_key", "--user", "u" * 60, "--plan", "free")
    assert code == 0 and len(report["name"]) == 50


def test_revoke__a_whole_key_names_its_prefix(member):
    key, secret = make_key(user=member)
    assert run("revoke_api_key", secret).code == 0
    key.refresh_from_db()
    assert key.revoked
