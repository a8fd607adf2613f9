"""Market-data providers, chosen by ``MARKET_DATA_PROVIDER``."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import MarketDataProvider


def get_provider(name: str | None = None) -> MarketDataProvider:
    """The configured provider. ``simulated`` needs no network (the embedded default)."""
    name = name or settings.MARKET_DATA_PROVIDER
    if name == "simulated":
        from .simulated import SimulatedProvider

        return SimulatedProvider()
    raise ImproperlyConfigured(f"Unknown MARKET_DATA_PROVIDER {name!r}; available: simulated")
