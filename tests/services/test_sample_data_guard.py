"""load_sample_data next to a real provider: it writes nothing (its own module: the sample
fixture of tests/commands/test_commands.py keeps the sample loaded for its whole module)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stocks.models import PriceBar, Stock

from ..support.commands import output


@pytest.mark.django_db
def test_load_sample_data__never_over_a_real_providers_data(settings, stock_factory, bar_factory):
    """compose runs it on every start: with a real provider it leaves the database alone."""
    settings.MARKET_DATA_PROVIDER = "massive"
    settings.MASSIVE_API_KEY = "k"
    stock = stock_factory(ticker="AAPL", price=Decimal("230.91"))
    bar = bar_factory(stock=stock)
    result = output("load_sample_data")
    assert result.out.startswith("Sample data skipped: MARKET_DATA_PROVIDER is 'massive'")
    assert list(Stock.objects.values_list("ticker", "price")) == [("AAPL", Decimal("230.9100"))]
    assert list(PriceBar.objects.values_list("id", "close")) == [(bar.id, bar.close)]


@pytest.mark.django_db
def test_load_sample_data__a_real_provider_with_no_stocks_gets_the_companies_only(settings):
    """csv and yahoo have no listing: an empty table gets the sample's companies, no prices."""
    settings.MARKET_DATA_PROVIDER = "yahoo"
    result = output("load_sample_data")
    assert result.out.startswith("Loaded the 503 companies of the sample, without prices")
    assert Stock.objects.count() == 503
    assert not Stock.objects.filter(price__isnull=False).exists()
    assert not PriceBar.objects.exists()
