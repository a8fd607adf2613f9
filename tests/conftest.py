"""Shared fixtures."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from .factories import PriceBarFactory, StockFactory


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def stock_factory(db):
    return StockFactory


@pytest.fixture
def bar_factory(db):
    return PriceBarFactory
