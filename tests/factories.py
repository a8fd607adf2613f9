"""Test data factories."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from stocks.models import PriceBar, SearchTerm, Stock
from stocks.search import name_terms

SECTORS = ("Energy", "Financials", "Health Care", "Information Technology", "Utilities")


class StockFactory(DjangoModelFactory):
    """An active stock with a fresh quote and plausible indicators."""

    class Meta:
        model = Stock
        django_get_or_create = ("ticker",)
        skip_postgeneration_save = True

    ticker = factory.Sequence(lambda n: f"TK{n}")
    name = factory.Faker("company")
    exchange = "NYSE"
    sector = factory.Iterator(SECTORS)
    industry = factory.LazyAttribute(lambda o: f"{o.sector} Industry")
    country = "United States"
    currency = "USD"
    price = Decimal("100.0000")
    previous_close = Decimal("98.0000")
    open = Decimal("99.0000")
    day_high = Decimal("101.0000")
    day_low = Decimal("97.5000")
    change = factory.LazyAttribute(lambda o: o.price - o.previous_close)
    change_percent = factory.LazyAttribute(
        lambda o: float(round((o.price - o.previous_close) / o.previous_close * 100, 4))
    )
    volume = 1_000_000
    avg_volume_30d = 900_000
    market_cap = 10_000_000_000
    pe_ratio = 20.0
    eps = Decimal("5.0000")
    dividend_yield = 1.5
    beta = 1.0
    week52_high = Decimal("120.0000")
    week52_low = Decimal("80.0000")
    sma_20 = Decimal("99.0000")
    sma_50 = Decimal("95.0000")
    sma_200 = Decimal("90.0000")
    rsi_14 = 55.0
    volatility_30d = 0.25
    quote_time = factory.LazyFunction(timezone.now)
    is_active = True

    class Params:
        # Just listed: no quote and no indicators yet (what ingest and the commands fill in).
        new_listing = factory.Trait(
            quote_time=None, avg_volume_30d=None, week52_high=None, week52_low=None,
            sma_20=None, sma_50=None, sma_200=None, rsi_14=None, volatility_30d=None,
        )  # fmt: skip

    @factory.post_generation
    def search_terms(self, create, extracted, **kwargs):
        if create:
            SearchTerm.objects.bulk_create(
                [SearchTerm(stock=self, term=t) for t in sorted(name_terms(self.name))],
                ignore_conflicts=True,
            )


class PriceBarFactory(DjangoModelFactory):
    class Meta:
        model = PriceBar

    stock = factory.SubFactory(StockFactory)
    date = factory.Sequence(lambda n: timezone.now().date() - timedelta(days=n))
    open = Decimal("10.0000")
    high = Decimal("11.0000")
    low = Decimal("9.0000")
    close = Decimal("10.5000")
    volume = 1000


class UserFactory(DjangoModelFactory):
    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"member{n}")


def make_key(plan: str = "pro", **fields):
    """A saved API key on the plan with slug ``plan``, and the key itself (shown once)."""
    from stocks.access.models import APIKey, Plan

    fields.setdefault("user", UserFactory())
    fields.setdefault("name", "test key")
    key = APIKey(plan=Plan.objects.get(slug=plan), **fields)
    secret = APIKey.objects.assign_key(key)
    key.full_clean()
    key.save()
    return key, secret
