"""
Stocks, their daily bars, and the word index behind name search; plans and API keys live
in ``stocks.access.models`` and are part of this app.
"""

from __future__ import annotations

from django.db import models

from .access.models import APIKey, Plan
from .querysets import PriceBarQuerySet, SearchTermQuerySet, StockQuerySet

__all__ = ["APIKey", "Plan", "PriceBar", "SearchTerm", "Stock"]

PRICE = {"max_digits": 18, "decimal_places": 4, "null": True, "blank": True}


# A screen filter's column, and the name of its index (column, is_active).
FILTER_INDEXES = (
    ("industry", "stock_industry_act_idx"),
    ("exchange", "stock_exchange_act_idx"),
    ("country", "stock_country_act_idx"),
    ("price", "stock_price_act_idx"),
    ("change", "stock_change_act_idx"),
    ("change_percent", "stock_change_pct_act_idx"),
    ("volume", "stock_volume_act_idx"),
    ("avg_volume_30d", "stock_avg_volume_act_idx"),
    ("pe_ratio", "stock_pe_act_idx"),
    ("dividend_yield", "stock_div_yield_act_idx"),
    ("beta", "stock_beta_act_idx"),
    ("rsi_14", "stock_rsi_act_idx"),
    ("volatility_30d", "stock_volatility_act_idx"),
)


class Stock(models.Model):
    """One listed security: reference data, the latest quote, and indicators computed at ingest."""

    ticker = models.CharField(max_length=16, unique=True, help_text="Canonical form: BRK.B")
    name = models.CharField(max_length=200)
    exchange = models.CharField(max_length=16, blank=True)
    sector = models.CharField(max_length=64, blank=True)
    industry = models.CharField(max_length=128, blank=True)
    country = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3, default="USD")

    # Fundamentals
    market_cap = models.BigIntegerField(null=True, blank=True, help_text="In currency units")
    pe_ratio = models.FloatField(null=True, blank=True)
    eps = models.DecimalField(**PRICE)
    dividend_yield = models.FloatField(null=True, blank=True, help_text="Percent")
    beta = models.FloatField(null=True, blank=True)

    # Latest quote
    price = models.DecimalField(**PRICE)
    previous_close = models.DecimalField(**PRICE)
    open = models.DecimalField(**PRICE)
    day_high = models.DecimalField(**PRICE)
    day_low = models.DecimalField(**PRICE)
    change = models.DecimalField(**PRICE)
    change_percent = models.FloatField(null=True, blank=True)
    volume = models.BigIntegerField(null=True, blank=True)
    quote_time = models.DateTimeField(null=True, blank=True)

    # Computed at ingest from daily bars (stocks.indicators)
    avg_volume_30d = models.BigIntegerField(null=True, blank=True)
    week52_high = models.DecimalField(**PRICE)
    week52_low = models.DecimalField(**PRICE)
    sma_20 = models.DecimalField(**PRICE)
    sma_50 = models.DecimalField(**PRICE)
    sma_200 = models.DecimalField(**PRICE)
    rsi_14 = models.FloatField(null=True, blank=True, help_text="Wilder RSI, 0-100")
    volatility_30d = models.FloatField(
        null=True, blank=True, help_text="Annualised, as a fraction (0.25 = 25%)"
    )

    is_active = models.BooleanField(default=True)

    objects = StockQuerySet.as_manager()

    class Meta:
        ordering = ["ticker"]
        indexes = [
            # One index per screen filter and ordering of /api/stocks/. The wider ones
            # cover a hot query whole, so it never reads a table row: the typical screen
            # (sector + price range, ordered by change %) counts and picks its page's ids
            # from stock_screen_idx alone; ticker-prefix search ranks by market cap from
            # stock_ticker_cap_idx; name search ranks its matches from stock_market_cap_idx.
            # Each filter's index carries is_active, so a screen's COUNT reads the index
            # alone (volume_min=1000000 over 100,000 rows: the whole screen took 139 ms
            # reading table rows for is_active, 15 ms without).
            models.Index(
                fields=["sector", "price", "change_percent", "is_active", "ticker"],
                name="stock_screen_idx",
            ),
            models.Index(fields=["ticker", "market_cap", "is_active"], name="stock_ticker_cap_idx"),
            models.Index(fields=["market_cap", "is_active", "ticker"], name="stock_market_cap_idx"),
            models.Index(fields=["name"], name="stock_name_idx"),
            *(
                models.Index(fields=[column, "is_active"], name=name)
                for column, name in FILTER_INDEXES
            ),
            models.Index(fields=["quote_time"], name="stock_quote_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ticker} ({self.name})"


class PriceBar(models.Model):
    """One daily OHLCV bar."""

    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="bars")
    date = models.DateField()
    open = models.DecimalField(max_digits=18, decimal_places=4)
    high = models.DecimalField(max_digits=18, decimal_places=4)
    low = models.DecimalField(max_digits=18, decimal_places=4)
    close = models.DecimalField(max_digits=18, decimal_places=4)
    volume = models.BigIntegerField()

    objects = PriceBarQuerySet.as_manager()

    class Meta:
        ordering = ["stock", "date"]
        constraints = [
            models.UniqueConstraint(fields=["stock", "date"], name="pricebar_stock_date_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.stock_id} {self.date} {self.close}"


class SearchTerm(models.Model):
    """
    One word of a stock's name, lower-cased, for word-prefix search.

    InnoDB FULLTEXT skips words under 3 characters and SQLite has no portable word index,
    so name search runs as an indexed range scan over this table on every backend.
    """

    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="search_terms")
    term = models.CharField(max_length=64)

    objects = SearchTermQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["term", "stock"], name="searchterm_term_stock_uniq"),
        ]

    def __str__(self) -> str:
        return self.term
