"""Market-data providers, chosen by ``MARKET_DATA_PROVIDER``."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import MarketDataProvider

# name -> "module:class"; a provider's module is imported only when it is chosen (yahoo's
# needs the optional yfinance).
PROVIDERS = {
    "simulated": "stocks.providers.simulated:SimulatedProvider",
    "csv": "stocks.providers.csv_folder:CsvFolderProvider",
    "massive": "stocks.providers.massive:MassiveProvider",
    "yahoo": "stocks.providers.yahoo:YahooProvider",
}


def get_provider(name: str | None = None) -> MarketDataProvider:
    """The configured provider. ``simulated`` needs no network (the embedded default)."""
    name = name or settings.MARKET_DATA_PROVIDER
    if name not in PROVIDERS:
        raise ImproperlyConfigured(
            f"Unknown MARKET_DATA_PROVIDER {name!r}; available: {', '.join(PROVIDERS)}"
        )
    module, _, attribute = PROVIDERS[name].partition(":")
    return getattr(import_module(module), attribute)()
