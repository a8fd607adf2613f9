"""Shared fixtures."""

from __future__ import annotations

from concurrent.futures import wait

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from stocks.health import CHECKS

from .factories import PriceBarFactory, StockFactory


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_health_check_left_running():
    """
    A check abandoned at its time limit keeps running (a later caller shares its result):
    let it finish before the next test, whose settings it would otherwise answer for.
    """
    yield
    for check in CHECKS.values():
        running, check._running = check._running, None
        if running is not None:
            wait([running], timeout=10)


@pytest.fixture
def stock_factory(db):
    return StockFactory


@pytest.fixture
def bar_factory(db):
    return PriceBarFactory
