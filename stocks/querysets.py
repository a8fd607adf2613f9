"""
The optimized manager: every read the API makes is a method here.

``Stock.objects`` is ``StockQuerySet.as_manager()``, so these methods chain:
``Stock.objects.active().screen(criteria).ordered("-change_percent")``.
Nothing here writes; writes live in ``stocks.services`` (``MarketDataQuerySet`` only
records that one happened).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Avg, Count, F, Max, Q, Sum

from . import data_version
from .screen import sql as screen_sql
from .screen.fields import BY_NAME, LIST_FIELDS, SortKey, columns_for

# Columns a list row renders; list endpoints read only these.
LIST_COLUMNS = ("id", *columns_for(tuple(name for name in LIST_FIELDS if name in BY_NAME)))

# Terms and tickers hold only [a-z0-9] / [A-Z0-9.], and those characters sort the same
# way under binary, SQLite and MySQL/PostgreSQL collations. So "term >= q AND
# term <= q+'zzz…'" is a prefix range scan that uses the index on every backend (LIKE
# does not on SQLite, nor on MySQL under some collations); startswith re-checks exactly.
_TERM_CEILING = "z" * 64
_TICKER_CEILING = "Z" * 16


def _prefix_range(field: str, prefix: str, ceiling: str) -> Q:
    return Q(**{f"{field}__gte": prefix, f"{field}__lte": prefix + ceiling}) & Q(
        **{f"{field}__startswith": prefix}
    )


class MarketDataQuerySet(models.QuerySet):
    """
    Every write through a queryset of market data moves the data version
    (``stocks.data_version``), so no cached answer or screen snapshot outlives it.
    Saves and deletes of single rows do the same through ``stocks.signals``.
    """

    def update(self, **kwargs) -> int:
        updated = super().update(**kwargs)
        if updated:
            data_version.mark_changed(self.db)
        return updated

    def bulk_create(self, objs, *args, **kwargs) -> list:
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            data_version.mark_changed(self.db)
        return created

    def delete(self) -> tuple[int, dict[str, int]]:
        deleted = super().delete()
        if deleted[0]:
            data_version.mark_changed(self.db)
        return deleted


class StockQuerySet(MarketDataQuerySet):
    def active(self) -> StockQuerySet:
        return self.filter(is_active=True)

    def quote_freshness(self, stale_before) -> dict[str, Any]:
        """
        Of the active stocks: the newest quote, how many there are, and how many have a quote
        older than ``stale_before`` or none (the freshness check and ``system_status``).
        """
        active = self.active()
        return {
            "newest_quote": active.aggregate(newest=Max("quote_time"))["newest"],
            "stale_before": stale_before,
            "active_stocks": active.count(),
            "stale_stocks": active.filter(
                Q(quote_time__lt=stale_before) | Q(quote_time__isnull=True)
            ).count(),
        }

    def page_values(self, start: int, stop: int, columns: tuple[str, ...]) -> list[dict]:
        """
        Rows ``start:stop`` of this ordered queryset as value rows of ``columns``, read ids
        first, then those rows by primary key. Filtering and sorting thousands of matches
        then runs on a covering index (see ``Stock.Meta.indexes``) and only the page's rows
        are read from the table; no model instance is built.
        """
        ids = list(self.values_list("pk", flat=True)[start:stop])
        if not ids:
            return []
        wanted = self.order_by().filter(pk__in=ids).values(*dict.fromkeys(("id", *columns)))
        rows = {row["id"]: row for row in wanted}
        return [rows[pk] for pk in ids if pk in rows]

    def screen(
        self, criteria: tuple[tuple[str, Any], ...], *, likely: bool = False
    ) -> StockQuerySet:
        """
        Apply parsed screen criteria (``stocks.screen.params``): the SQL screen. ``likely``
        tells SQLite's planner that the ranges match most rows (``screen.sql.Likely``).
        """
        return self.filter(screen_sql.where(criteria, likely=likely))

    def quoted_before(self, moment) -> StockQuerySet:
        """Stocks whose quote was taken before ``moment``, or that have none."""
        return self.filter(Q(quote_time__lt=moment) | Q(quote_time__isnull=True))

    def ordered(self, sort: SortKey | str = "ticker") -> StockQuerySet:
        """Order by a registry field (``-`` for descending); nulls last, ties by ticker."""
        if isinstance(sort, str):
            sort = SortKey.parse(sort)
        return self.order_by(*screen_sql.order_by(sort.field, sort.descending))

    def movers(self, kind: str, limit: int) -> list[dict]:
        """Top gainers, losers, or most active by volume, among stocks with a quote."""
        ordering = {"gainers": "-change_percent", "losers": "change_percent", "active": "-volume"}
        field = "volume" if kind == "active" else "change_percent"
        qs = self.active().filter(**{f"{field}__isnull": False})
        if kind == "gainers":
            qs = qs.filter(change_percent__gt=0)
        elif kind == "losers":
            qs = qs.filter(change_percent__lt=0)
        return list(qs.ordered(ordering[kind]).values(*LIST_COLUMNS)[:limit])

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

    def search_values(self, query: str, limit: int) -> list[dict]:
        """
        Ranked search. Tiers, best first: exact ticker, ticker prefix, every word of the
        query a prefix of a word of the name, then fuzzy (name words within a small edit
        distance). Within a tier, larger companies come first. Each hit is a value row of the
        list columns and ``match``.
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

        base = self.active()
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
            for row in qs.exclude(pk__in=seen).page_values(0, limit - len(hits), LIST_COLUMNS):
                seen.add(row["id"])
                hits.append({**row, "match": match})

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


class SearchTermQuerySet(MarketDataQuerySet):
    """Lookups on the name-word index (``SearchTerm``) behind ``StockQuerySet.search``."""

    def with_prefix(self, prefix: str) -> SearchTermQuerySet:
        return self.filter(_prefix_range("term", prefix, _TERM_CEILING))

    def stock_ids(self) -> models.QuerySet:
        return self.values("stock_id")

    def distinct_terms(self) -> list[str]:
        return list(self.values_list("term", flat=True).distinct())


class PriceBarQuerySet(MarketDataQuerySet):
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
