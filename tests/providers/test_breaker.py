"""The provider circuit breaker: shared through the cache, open -> half-open -> closed."""

from __future__ import annotations

import logging

import pytest

from stocks.providers import calls
from stocks.providers.base import CircuitOpen, ProviderRefused, ProviderUnavailable
from stocks.providers.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from tests.support.providers import SNAPSHOT, recorded


@pytest.fixture
def breaker_settings(settings):
    settings.PROVIDER_BREAKER_FAILURES = 3
    settings.PROVIDER_BREAKER_COOLDOWN_SECONDS = 300
    settings.PROVIDER_MAX_ATTEMPTS = 1


def _fail():
    raise ProviderUnavailable("HTTP 503")


def _cooldown_over(name="massive"):
    """The open record expires: what the cache does once the cool-down has passed."""
    from django.core.cache import cache

    cache.delete(CircuitBreaker(name)._key("open"))


def test_opens_after_n_consecutive_failures_then_refuses_without_calling(
    any_cache, breaker_settings, slept, caplog
):
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, what="snapshot")
    assert CircuitBreaker("massive").state().state == OPEN
    made = []
    caplog.set_level(logging.WARNING, "stocks.providers")
    for _ in range(4):
        with pytest.raises(CircuitOpen):
            calls.call("massive", lambda: made.append(1), what="snapshot")
    assert made == []
    skipped = [r for r in caplog.records if "refreshes are skipped" in r.message]
    assert len(skipped) == 1  # one warning per opening, however many refreshes are skipped


def test_a_success_resets_the_consecutive_count(any_cache, breaker_settings, slept):
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, what="snapshot")
    assert calls.call("massive", lambda: "ok", what="snapshot") == "ok"
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, what="snapshot")
    state = CircuitBreaker("massive").state()
    assert (state.state, state.failures) == (CLOSED, 2)


def test_refusals_count_too(any_cache, breaker_settings, slept):
    """A revoked key is not asked every few minutes for ever."""

    def refused():
        raise ProviderRefused("HTTP 401 Unknown API Key")

    for _ in range(3):
        with pytest.raises(ProviderRefused):
            calls.call("massive", refused, what="snapshot")
    assert CircuitBreaker("massive").state().state == OPEN


def test_half_open__one_trial_whose_success_closes(any_cache, breaker_settings, slept, caplog):
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, what="snapshot")
    _cooldown_over()
    assert CircuitBreaker("massive").state().state == HALF_OPEN

    # While the trial is out, every other caller (another worker) is still refused.
    trial = CircuitBreaker("massive")
    trial.before_call()
    with pytest.raises(CircuitOpen, match="half-open"):
        calls.call("massive", lambda: "second", what="snapshot")
    caplog.set_level(logging.WARNING, "stocks.providers")
    trial.record_success()
    state = CircuitBreaker("massive").state()
    assert (state.state, state.failures) == (CLOSED, 0)
    assert any("circuit closed" in r.message for r in caplog.records)
    assert calls.call("massive", lambda: "again", what="snapshot") == "again"


def test_half_open__a_failed_trial_opens_again_for_a_whole_cooldown(
    any_cache, breaker_settings, slept
):
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, what="snapshot")
    _cooldown_over()
    with pytest.raises(ProviderUnavailable):
        calls.call("massive", _fail, what="snapshot")  # the trial
    state = CircuitBreaker("massive").state()
    assert state.state == OPEN and state.reopens_at is not None


def test_providers_have_breakers_of_their_own(any_cache, breaker_settings, slept):
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, what="snapshot")
    assert calls.call("yahoo", lambda: "fine", what="download") == "fine"


def test_cache_down__calls_go_through(redis_down, breaker_settings, slept):
    """The breaker protects the provider from us; Redis being down must not stop refreshes."""
    for _ in range(5):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, what="snapshot")
    assert calls.call("massive", lambda: "ok", what="snapshot") == "ok"


def test_through_the_massive_provider(http, breaker_settings, slept):
    from stocks.providers import get_provider

    http.get(SNAPSHOT, status=500, body="boom")
    provider = get_provider("massive")
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            provider.get_quotes()
    with pytest.raises(CircuitOpen):
        provider.get_quotes()
    assert len(http.calls) == 3
    _cooldown_over()
    http.replace("GET", SNAPSHOT, json=recorded("massive/snapshot.json"))
    assert provider.get_quotes()
    assert CircuitBreaker("massive").state().state == CLOSED


# --- where operators see it ------------------------------------------------------------------


def _open_it(settings):
    settings.MARKET_DATA_PROVIDER = "massive"
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, what="snapshot")


@pytest.mark.django_db
def test_reported_in_health_detailed(breaker_settings, slept, settings, api):
    from stocks.health import run_checks

    settings.MARKET_DATA_PROVIDER = "massive"
    (closed,) = run_checks(["provider"])
    assert (closed.status, closed.details["state"]) == ("ok", CLOSED)
    _open_it(settings)
    settings.HEALTH_TOKEN = "t" * 40
    api.credentials(HTTP_AUTHORIZATION="Bearer " + "t" * 40)
    body = api.get("/health/detailed/").json()
    (provider,) = body["categories"]["data"][1:]
    assert provider["name"] == "provider" and provider["status"] == "degraded"
    assert provider["details"]["state"] == OPEN
    assert provider["details"]["consecutive_failures"] == 3
    assert "circuit open until" in provider["message"]
    # Refreshes being skipped is not a reason to take the API out of the load balancer.
    assert api.get("/health/ready/").status_code == 200


@pytest.mark.django_db
def test_reported_by_system_health_and_system_status(breaker_settings, slept, settings):
    from tests.support.commands import run, run_json

    _open_it(settings)
    health = run("system_health")
    assert "provider" in health.out and "circuit open" in health.out
    report, code = run_json("system_status")
    assert report["provider"]["name"] == "massive" and report["provider"]["state"] == OPEN
    assert any(
        item.startswith("market data provider: massive: circuit open")
        for item in report["attention"]
    )
    assert code == 1
    text = run("system_status").out
    assert (
        "Market data provider\n  massive: circuit open, 3 consecutive failure(s), trial call after"
        in text
    )
