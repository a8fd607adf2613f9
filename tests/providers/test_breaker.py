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


def _cooldown_over(name="massive", endpoint="quotes"):
    """The open record expires: what the cache does once the cool-down has passed."""
    from django.core.cache import cache

    cache.delete(CircuitBreaker(name, endpoint)._key("open"))


def test_opens_after_n_consecutive_failures_then_refuses_without_calling(
    any_cache, breaker_settings, slept, caplog
):
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, endpoint="quotes", what="snapshot")
    assert CircuitBreaker("massive", "quotes").state().state == OPEN
    made = []
    caplog.set_level(logging.WARNING, "stocks.providers")
    for _ in range(4):
        with pytest.raises(CircuitOpen):
            calls.call("massive", lambda: made.append(1), endpoint="quotes", what="snapshot")
    assert made == []
    skipped = [r for r in caplog.records if "refreshes are skipped" in r.message]
    assert len(skipped) == 1  # one warning per opening, however many refreshes are skipped


def test_a_success_resets_the_consecutive_count(any_cache, breaker_settings, slept):
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, endpoint="quotes", what="snapshot")
    assert calls.call("massive", lambda: "ok", endpoint="quotes", what="snapshot") == "ok"
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, endpoint="quotes", what="snapshot")
    state = CircuitBreaker("massive", "quotes").state()
    assert (state.state, state.failures) == (CLOSED, 2)


def test_refusals_count_too(any_cache, breaker_settings, slept):
    """A revoked key is not asked every few minutes for ever."""

    def refused():
        raise ProviderRefused("HTTP 401 Unknown API Key")

    for _ in range(3):
        with pytest.raises(ProviderRefused):
            calls.call("massive", refused, endpoint="quotes", what="snapshot")
    assert CircuitBreaker("massive", "quotes").state().state == OPEN


def test_half_open__one_trial_whose_success_closes(any_cache, breaker_settings, slept, caplog):
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, endpoint="quotes", what="snapshot")
    _cooldown_over()
    assert CircuitBreaker("massive", "quotes").state().state == HALF_OPEN

    # While the trial is out, every other caller (another worker) is still refused.
    trial = CircuitBreaker("massive", "quotes")
    trial.before_call()
    with pytest.raises(CircuitOpen, match="half-open"):
        calls.call("massive", lambda: "second", endpoint="quotes", what="snapshot")
    caplog.set_level(logging.WARNING, "stocks.providers")
    trial.record_success()
    state = CircuitBreaker("massive", "quotes").state()
    assert (state.state, state.failures) == (CLOSED, 0)
    assert any("circuit closed" in r.message for r in caplog.records)
    assert calls.call("massive", lambda: "again", endpoint="quotes", what="snapshot") == "again"


def test_half_open__a_failed_trial_opens_again_for_a_whole_cooldown(
    any_cache, breaker_settings, slept
):
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, endpoint="quotes", what="snapshot")
    _cooldown_over()
    with pytest.raises(ProviderUnavailable):
        calls.call("massive", _fail, endpoint="quotes", what="snapshot")  # the trial
    state = CircuitBreaker("massive", "quotes").state()
    assert state.state == OPEN and state.reopens_at is not None


def test_providers_have_breakers_of_their_own(any_cache, breaker_settings, slept):
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, endpoint="quotes", what="snapshot")
    assert calls.call("yahoo", lambda: "fine", endpoint="quotes", what="download") == "fine"


def test_cache_down__calls_go_through(redis_down, breaker_settings, slept):
    """The breaker protects the provider from us; Redis being down must not stop refreshes."""
    for _ in range(5):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, endpoint="quotes", what="snapshot")
    assert calls.call("massive", lambda: "ok", endpoint="quotes", what="snapshot") == "ok"


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
    assert CircuitBreaker("massive", "quotes").state().state == CLOSED


# --- where operators see it ------------------------------------------------------------------


def _open_it(settings):
    settings.MARKET_DATA_PROVIDER = "massive"
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, endpoint="quotes", what="snapshot")


@pytest.mark.django_db
def test_reported_in_health_detailed(breaker_settings, slept, settings, api):
    from stocks.health import run_checks

    settings.MARKET_DATA_PROVIDER = "massive"
    (closed,) = run_checks(["provider"])
    assert closed.status == "ok"
    assert {e: d["state"] for e, d in closed.details["endpoints"].items()} == {
        "quotes": CLOSED, "bars": CLOSED, "listings": CLOSED,
    }  # fmt: skip
    _open_it(settings)
    settings.HEALTH_TOKEN = "t" * 40
    api.credentials(HTTP_AUTHORIZATION="Bearer " + "t" * 40)
    body = api.get("/health/detailed/").json()
    (provider,) = [c for c in body["categories"]["data"] if c["name"] == "provider"]
    assert provider["status"] == "degraded"
    quotes = provider["details"]["endpoints"]["quotes"]
    assert (quotes["state"], quotes["consecutive_failures"]) == (OPEN, 3)
    assert provider["details"]["endpoints"]["bars"]["state"] == CLOSED
    assert "circuit quotes open until" in provider["message"]
    # Refreshes being skipped is not a reason to take the API out of the load balancer.
    assert api.get("/health/ready/").status_code == 200


@pytest.mark.django_db
def test_reported_by_system_health_and_system_status(breaker_settings, slept, settings):
    from tests.support.commands import run, run_json

    _open_it(settings)
    health = run("system_health")
    assert "provider" in health.out and "circuit quotes open" in health.out
    report, code = run_json("system_status")
    assert report["provider"]["name"] == "massive"
    assert report["provider"]["endpoints"]["quotes"]["state"] == OPEN
    assert report["provider"]["endpoints"]["listings"]["state"] == CLOSED
    assert any(
        item.startswith("market data provider: massive: circuit quotes open")
        for item in report["attention"]
    )
    assert code == 1
    text = run("system_status").out
    assert (
        "Market data provider: massive\n  quotes    circuit open, 3 consecutive failure(s), "
        in text
    )
    assert "  bars      circuit closed\n" in text


# --- one endpoint's failures, and calls that end without an outcome ----------------------------


def test_an_endpoint_refused_by_the_plan_leaves_the_others_working(
    any_cache, breaker_settings, slept
):
    """A 403 on the snapshot (a plan without it) opens the quotes breaker only."""

    def not_entitled():
        raise ProviderRefused("HTTP 403 You are not entitled to this data")

    for _ in range(3):
        with pytest.raises(ProviderRefused):
            calls.call("massive", not_entitled, endpoint="quotes", what="snapshot")
    with pytest.raises(CircuitOpen):
        calls.call("massive", lambda: "x", endpoint="quotes", what="snapshot")
    assert calls.call("massive", lambda: "bars", endpoint="bars", what="grouped") == "bars"
    assert calls.call("massive", lambda: "list", endpoint="listings", what="tickers") == "list"


@pytest.mark.parametrize("interruption", ["time limit", "no token"])
def test_a_trial_that_ends_without_an_outcome_frees_the_half_open_state(
    any_cache, breaker_settings, slept, monkeypatch, interruption
):
    from celery.exceptions import SoftTimeLimitExceeded

    from stocks.providers import rate_limit

    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, endpoint="quotes", what="snapshot")
    _cooldown_over()
    if interruption == "time limit":

        def interrupted():
            raise SoftTimeLimitExceeded()

        with pytest.raises(SoftTimeLimitExceeded):
            calls.call("massive", interrupted, endpoint="quotes", what="snapshot")
    else:

        def no_token(provider, *, max_wait, rate=None):
            raise rate_limit.RateLimited("no token", retry_after=30)

        monkeypatch.setattr(rate_limit, "acquire", no_token)
        with pytest.raises(rate_limit.RateLimited):
            calls.call("massive", lambda: "x", endpoint="quotes", what="snapshot")
        monkeypatch.undo()
    # Not counted as the provider's failure, and the next caller gets the trial at once.
    state = CircuitBreaker("massive", "quotes").state()
    assert (state.state, state.failures) == (HALF_OPEN, 3)
    assert calls.call("massive", lambda: "ok", endpoint="quotes", what="snapshot") == "ok"
    assert CircuitBreaker("massive", "quotes").state().state == CLOSED


def test_concurrent_trials__exactly_one_caller_gets_it(
    redis_url, settings, breaker_settings, slept
):
    """Eight workers at once after the cool-down: one trial call is made, seven are refused."""
    import threading

    from tests.support.redis import redis_cache_settings

    settings.CACHES = redis_cache_settings(redis_url)
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, endpoint="quotes", what="snapshot")
    _cooldown_over()
    made, refused, start = [], [], threading.Barrier(8)
    release = threading.Event()

    def worker():
        start.wait()
        try:
            calls.call(
                "massive",
                lambda: made.append(1) or release.wait(5),
                endpoint="quotes",
                what="snapshot",
            )
        except CircuitOpen:
            refused.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for _ in range(100):
        if len(refused) == 7:
            break
        threading.Event().wait(0.05)
    release.set()
    for thread in threads:
        thread.join(10)
    assert (len(made), len(refused)) == (1, 7)
    assert CircuitBreaker("massive", "quotes").state().state == CLOSED
    from django.core.cache import cache

    cache.delete_pattern("*")


def test_failures_after_it_opened_neither_extend_the_cooldown_nor_log(
    any_cache, breaker_settings, slept, caplog
):
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            calls.call("massive", _fail, endpoint="quotes", what="snapshot")
    first = CircuitBreaker("massive", "quotes").state().reopens_at
    caplog.clear()
    # Calls that were already in flight when it opened report their failures late.
    late = CircuitBreaker("massive", "quotes")
    for _ in range(3):
        late.record_failure(ProviderUnavailable("late"))
    assert CircuitBreaker("massive", "quotes").state().reopens_at == first
    assert not [r for r in caplog.records if "circuit open after" in r.message]
