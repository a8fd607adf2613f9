"""
The optimized manager: every read the API makes is a method here.

``Stock.objects`` is ``StockQuerySet.as_manager()``, so these methods chain:
``Stock.objects.active().list_columns().screen(sector="Energy").ordered("-change_percent")``.
Nothing here writes; writes live in ``stocks.services``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Avg, Count, F, Max, Q, Sum, Value

# Public range-filter prefix -> model field. "<prefix>_min" / "<prefix>_max" filter on it.
RANGE_FIELDS: dict[str, str] = {
    "price": "price",
    "change_percent": "change_percent",
    "volume": "volume",
    "avg_volume": "avg_volume_30d",
    "market_cap": "market_cap",
    "pe": "pe_ratio",
    "dividend_yield": "dividend_yield",
    "beta": "beta",
    "rsi": "rsi_14",
}
# Which bounds each range filter offers (the public contract in DESIGN.md).
RANGE_BOUNDS: dict[str, tuple[str, ...]] = {
    "price": ("min", "max"),
    "change_percent": ("min", "max"),
    "volume": ("min",),
    "avg_volume": ("min",),
    "market_cap": ("min", "max"),
    "pe": ("min", "max"),
    "dividend_yield": ("min",),
    "beta": ("min", "max"),
    "rsi": ("min", "max"),
}
EXACT_FIELDS = ("sector", "industry", "exchange", "country")

# Fields a list can be ordered by (the names rows carry); ties always break on ticker.
ORDERING_FIELDS = (
    "ticker", "name", "price", "change", "change_percent", "volume", "avg_volume_30d",
    "market_cap", "pe_ratio", "dividend_yield", "beta", "rsi_14", "volatility_30d",
)  # fmt: skip
DEFAULT_ORDERING = "ticker"

# Columns a list row renders; list endpoints read only these.
LIST_COLUMNS = (
    "id", "ticker", "name", "exchange", "sector", "industry", "country", "currency",
    "price", "change", "change_percent", "volume", "avg_volume_30d", "market_cap",
    "pe_ratio", "dividend_yield", "beta", "rsi_14", "sma_50", "sma_200",
    "week52_high", "week52_low", "volatility_30d", "quote_time",
)  # fmt: skip
# Columns every row needs whatever sparse field set is asked for (freshness, identity).
ALWAYS_COLUMNS = ("id", "ticker", "quote_time")

MOVER_KINDS = ("gainers", "losers", "active")

# Terms and tickers hold only [a-z0-9] / [A-Z0-9.], and those characters sort the same
# way under binary, SQLite and MySQL/PostgreSQL collations. So "term >= q AND
# term <= q+'zzz…'" is a prefix range scan that uses the index on every backend (LIKE
# does not on SQLite, nor on MySQL under some collations); startswith re-checks exactly.
_TERM_CEILING = "z" * 64
_TICKER_CEILING = "Z" * 16


@dataclass(frozen=True)
class SortKey:
    """A parsed ``ordering`` value: the model field and its direction."""

    field: str
    descending: bool

    @classmethod
    def parse(cls, ordering: str) -> SortKey:
        field = ordering.removeprefix("-")
        if field not in ORDERING_FIELDS:
            raise ValueError(f"cannot order by {field!r}")
        return cls(field=field, descending=ordering.startswith("-"))

    def order_by(self) -> list[models.OrderBy]:
        """Nulls last in both directions, on every backend, then ticker as the tiebreaker."""
        expression = F(self.field)
        primary = (
            expression.desc(nulls_last=True) if self.descending else expression.asc(nulls_last=True)
        )
        if self.field == "ticker":
            return [primary]
        tiebreak = F("ticker").desc() if self.descending else F("ticker").asc()
        return [primary, tiebreak]


def _prefix_range(field: str, prefix: str, ceiling: str) -> Q:
    return Q(**{f"{field}__gte": prefix, f"{field}__lte": prefix + ceiling}) & Q(
        **{f"{field}__startswith": prefix}
    )


class StockQuerySet(models.QuerySet):
    def active(self) -> StockQuerySet:
        return self.filter(is_active=True)

    def list_columns(self, fields: tuple[str, ...] | None = None) -> StockQuerySet:
        """Read only the columns a list row renders (or the sparse ``fields`` asked for)."""
        columns = LIST_COLUMNS if fields is None else tuple({*ALWAYS_COLUMNS, *fields})
        return self.only(*columns)

    def fetch(self, start: int, stop: int) -> list:
        """
        Rows ``start:stop`` of this ordered queryset, read ids first, then those rows by
        primary key. Filtering and sorting thousands of matches then runs on a covering
        index (see ``Stock.Meta.indexes``) and only the page's rows are read from the table.
        """
        ids = list(self.values_list("pk", flat=True)[start:stop])
        if not ids:
            return []
        rows = self.order_by().in_bulk(ids)
        return [rows[pk] for pk in ids if pk in rows]

    def screen(self, **criteria: Any) -> StockQuerySet:
        """
        Apply screen criteria (already validated by the API layer). Keys are the public
        filter names: ``tickers``, ``sector``…, ``<range>_min``/``<range>_max``,
        ``above_sma50``, ``above_sma200``, ``near_52w_high`` (percent below the high).
        """
        qs = self
        tickers = criteria.pop("tickers", None)
        if tickers:
            qs = qs.filter(ticker__in=tickers)
        for name in EXACT_FIELDS:
            value = criteria.pop(name, None)
            if value:
                qs = qs.filter(**{name: value})
        for prefix, field in RANGE_FIELDS.items():
            low = criteria.pop(f"{prefix}_min", None)
            high = criteria.pop(f"{prefix}_max", None)
            if isinstance(self.model._meta.get_field(field), models.IntegerField):
                # Django truncates a Decimal bound on an integer column (volume >= 1.5
                # would run as volume >= 1), so round each bound inward ourselves.
                low = None if low is None else math.ceil(low)
                high = None if high is None else math.floor(high)
            if low is not None:
                qs = qs.filter(**{f"{field}__gte": low})
            if high is not None:
                qs = qs.filter(**{f"{field}__lte": high})
        for period in (50, 200):
            above = criteria.pop(f"above_sma{period}", None)
            if above is not None:
                qs = qs.above_sma(period) if above else qs.below_sma(period)
        within = criteria.pop("near_52w_high", None)
        if within is not None:
            qs = qs.near_52_week_high(within)
        if criteria:
            raise TypeError(f"unknown screen criteria: {sorted(criteria)}")
        return qs

    def above_sma(self, period: int) -> StockQuerySet:
        return self.filter(price__gt=F(f"sma_{period}"))

    def below_sma(self, period: int) -> StockQuerySet:
        return self.filter(price__lte=F(f"sma_{period}"))

    def near_52_week_high(self, within_percent: Decimal | float) -> StockQuerySet:
        """Price within ``within_percent`` percent below its 52-week high."""
        factor = 1 - Decimal(str(within_percent)) / 100
        return self.filter(week52_high__isnull=False, price__gte=F("week52_high") * factor)

    def quoted_before(self, moment) -> StockQuerySet:
        """Stocks whose quote was taken before ``moment``, or that have none."""
        return self.filter(Q(quote_time__lt=moment) | Q(quote_time__isnull=True))

    def ordered(self, ordering: str = DEFAULT_ORDERING) -> StockQuerySet:
        """Order by a whitelisted public name (``-`` for descending); ties break on ticker."""
        return self.order_by(*SortKey.parse(ordering).order_by())

    def movers(self, kind: str, limit: int) -> StockQuerySet:
        """Top gainers, losers, or most active by volume, among stocks with a quote."""
        ordering = {"gainers": "-change_percent", "losers": "change_percent", "active": "-volume"}
        field = "volume" if kind == "active" else "change_percent"
        qs = self.active().filter(**{f"{field}__isnull": False})
        if kind == "gainers":
            qs = qs.filter(change_percent__gt=0)
        elif kind == "losers":
            qs = qs.filter(change_percent__lt=0)
        return qs.list_columns().ordered(ordering[kind])[:limit]

    def sector_summary(self) -> models.QuerySet:
        """Per sector: count, advancers, decliners, mean change %, total market cap."""
        return (
            self.active()
            .exclude(sector="")
            .values("sector")
            .annotate(
                count=Count("id"),
                advancers=Count("id", filter=Q(change_percent__gt=0)),
                decliners=Count("id", filter=Q(change_percent__lt=0)),
                unchanged=Count("id", filter=Q(change_percent=0)),
                mean_change_percent=Avg("change_percent"),
                market_cap=Sum("market_cap"),
            )
            .order_by("sector")
        )

    def facet_counts(self, field: str) -> models.QuerySet:
        """Distinct values of ``field`` among active stocks, with how many stocks have each."""
        return (
            self.active()
            .exclude(**{field: ""})
            .values(field)
            .annotate(count=Count("id"))
            .order_by(field)
        )

    # --- search -------------------------------------------------------------------------

    def search(self, query: str, limit: int) -> list:
        """
        Ranked search. Tiers, best first: exact ticker, ticker prefix, every word of the
        query a prefix of a word of the name, then fuzzy (name words within a small edit
        distance). Within a tier, larger companies come first. Each hit carries ``match``.
        """
        from .search import allowed_typos, fuzzy_terms, normalize_query

        ticker, words = normalize_query(query)
        terms = self.model._meta.get_field("search_terms").related_model.objects
        # A one-letter word beside longer ones ("s" of "s&p global", "t" of "at&t") must be a
        # whole name word: as a prefix it would match, and scan, nearly every name.
        whole_letters = any(len(w) > 1 for w in words)

        def naming(word: str) -> models.QuerySet:
            """Ids of the stocks with a name word that ``word`` starts (or is, see above)."""
            if whole_letters and len(word) == 1:
                return terms.filter(term=word).stock_ids()
            return terms.with_prefix(word).stock_ids()

        base = self.active().list_columns()
        by_size = [F("market_cap").desc(nulls_last=True), "ticker"]
        tiers: list[tuple[str, models.QuerySet]] = []
        if ticker:
            tiers.append(("exact_ticker", base.filter(ticker=ticker)))
            tiers.append(
                (
                    "ticker_prefix",
                    base.filter(_prefix_range("ticker", ticker, _TICKER_CEILING))
                    .exclude(ticker=ticker)
                    .order_by(*by_size),
                )
            )
        if words:
            named = base
            for word in words:
                named = named.filter(pk__in=naming(word))
            tiers.append(("name_prefix", named.order_by(*by_size)))

        hits: list = []
        seen: set[int] = set()

        def take(match: str, qs: StockQuerySet) -> None:
            for stock in (
                qs.exclude(pk__in=seen).annotate(match=Value(match)).fetch(0, limit - len(hits))
            ):
                seen.add(stock.pk)
                hits.append(stock)

        for match, qs in tiers:
            if len(hits) >= limit:
                return hits
            take(match, qs)
        if len(hits) < limit and any(allowed_typos(word) for word in words):
            # Fuzzy: every query word must have a close name word; candidates come from
            # the words sharing its first letter, so this stays an indexed scan.
            fuzzy = base
            for word in words:
                if not allowed_typos(word):
                    # Too short to carry a typo ("of" in "bank of amrica"): it must start a
                    # name word, as in the prefix tier, or no multi-word typo would match.
                    fuzzy = fuzzy.filter(pk__in=naming(word))
                    continue
                close = fuzzy_terms(word, terms.with_prefix(word[0]).distinct_terms())
                if not close:
                    return hits
                fuzzy = fuzzy.filter(pk__in=terms.filter(term__in=close).stock_ids())
            take("fuzzy", fuzzy.order_by(*by_size))
        return hits


class SearchTermQuerySet(models.QuerySet):
    """Lookups on the name-word index (``SearchTerm``) behind ``StockQuerySet.search``."""

    def with_prefix(self, prefix: str) -> SearchTermQuerySet:
        return self.filter(_prefix_range("term", prefix, _TERM_CEILING))

    def stock_ids(self) -> models.QuerySet:
        return self.values("stock_id")

    def distinct_terms(self) -> list[str]:
        return list(self.values_list("term", flat=True).distinct())


class PriceBarQuerySet(models.QuerySet):
    def newest_by_ticker(self) -> dict[str, Any]:
        """Each active stock's newest bar date, by ticker (stocks with no bars are absent)."""
        return dict(
            self.filter(stock__is_active=True)
            .values_list("stock__ticker")
            .annotate(newest=Max("date"))
            .order_by()
        )

    def for_history(self, stock_id: int, start, end) -> models.QuerySet:
        """Daily bars of one stock between two dates (inclusive), oldest first."""
        qs = self.filter(stock_id=stock_id)
        if start is not None:
            qs = qs.filter(date__gte=start)
        if end is not None:
            qs = qs.filter(date__lte=end)
        return qs.order_by("date").values_list("date", "open", "high", "low", "close", "volume")
