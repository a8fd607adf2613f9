"""Providers are tested against recorded responses (``recorded/``); nothing uses the network."""

import pytest


@pytest.fixture(autouse=True)
def _provider_settings(provider_settings):
    """Every provider test runs with the test provider settings (tests/conftest.py)."""
