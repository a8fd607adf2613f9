"""
Ranked search on the engine's snapshot: the same tiers and the same order as the SQL
search (``StockQuerySet.search_values``), answered from memory.

Tiers, best first: exact ticker, ticker prefix, every query word a prefix of a word of the
name (a one-letter word beside longer ones must be a whole word), then fuzzy (name words
within a small edit distance, sharing the first letter). Within a tier, larger companies
first (market cap descending, missing last), then ticker. ``tests/screen`` proves both
paths give the same hits.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime
from typing import Any

import numpy as np

from ..search import allowed_typos, fuzzy_terms, normalize_query
from .engine import Snapshot


def search(snapshot: Snapshot, query: str, limit: int, stale_before: datetime) -> list[dict]:
    ticker, words = normalize_query(query)
    index = snapshot.words()
    whole_letters = any(len(w) > 1 for w in words)

    def naming(word: str) -> np.ndarray:
        if whole_letters and len(word) == 1:
            return index.rows_of([word])
        return index.rows_with_prefix(word)

    tiers: list[tuple[str, np.ndarray]] = []
    if ticker:
        exact = snapshot.row_of(ticker)
        tiers.append(("exact_ticker", np.array([] if exact is None else [exact], dtype=np.int64)))
        first = bisect_left(snapshot.tickers, ticker)
        last = bisect_right(snapshot.tickers, ticker + "\uffff")
        prefixed = np.arange(first, last)
        tiers.append(
            ("ticker_prefix", prefixed[prefixed != exact] if exact is not None else prefixed)
        )
    if words:
        named = None
        for word in words:
            rows = naming(word)
            named = rows if named is None else np.intersect1d(named, rows, assume_unique=True)
        tiers.append(("name_prefix", named))

    hits: list[tuple[str, int]] = []
    seen: set[int] = set()

    def take(match: str, rows: np.ndarray) -> None:
        fresh = np.array([r for r in rows.tolist() if r not in seen], dtype=np.int64)
        for row in _by_size(snapshot, fresh)[: limit - len(hits)].tolist():
            seen.add(row)
            hits.append((match, row))

    def answer() -> list[dict[str, Any]]:
        rows = np.array([row for _, row in hits], dtype=np.int64)
        rendered = snapshot.render(rows, None, stale_before)
        return [{"match": match, **row} for (match, _), row in zip(hits, rendered, strict=True)]

    for match, rows in tiers:
        if len(hits) >= limit:
            return answer()
        take(match, rows)
    if len(hits) < limit and any(allowed_typos(word) for word in words):
        fuzzy = None
        for word in words:
            if not allowed_typos(word):
                rows = naming(word)
            else:
                close = fuzzy_terms(word, index.terms_with_prefix(word[0]))
                if not close:
                    return answer()
                rows = index.rows_of(close)
            fuzzy = rows if fuzzy is None else np.intersect1d(fuzzy, rows, assume_unique=True)
        take("fuzzy", fuzzy)
    return answer()


def _by_size(snapshot: Snapshot, rows: np.ndarray) -> np.ndarray:
    """``rows`` by market cap, largest first, missing last; then by ticker (the row order)."""
    cap = snapshot.numbers["market_cap"]
    missing = ~cap.valid[rows]
    return rows[np.lexsort((rows, -cap.values[rows], missing))]


class WordIndex:
    """
    Each name word of the snapshot's stocks (as ingest indexes them) and its rows, in one
    flat array: the rows of ``terms[i]`` are ``rows[offsets[i]:offsets[i + 1]]``, so the
    rows of every word with a prefix (a contiguous run of sorted terms) are one slice.
    """

    def __init__(self, names: list[str]) -> None:
        from ..search import name_terms

        rows_by_term: dict[str, list[int]] = {}
        for row, name in enumerate(names):
            for term in name_terms(name):
                rows_by_term.setdefault(term, []).append(row)
        self.terms = sorted(rows_by_term)
        lengths = np.fromiter((len(rows_by_term[t]) for t in self.terms), np.int64, len(self.terms))
        self.offsets = np.concatenate(([0], np.cumsum(lengths)))
        self.rows = np.fromiter(
            (row for t in self.terms for row in rows_by_term[t]), np.int32, int(self.offsets[-1])
        )

    def _span(self, prefix: str) -> tuple[int, int]:
        return bisect_left(self.terms, prefix), bisect_right(self.terms, prefix + "\uffff")

    def terms_with_prefix(self, prefix: str) -> list[str]:
        first, last = self._span(prefix)
        return self.terms[first:last]

    def rows_with_prefix(self, prefix: str) -> np.ndarray:
        first, last = self._span(prefix)
        return np.unique(self.rows[self.offsets[first] : self.offsets[last]]).astype(np.int64)

    def rows_of(self, terms: list[str]) -> np.ndarray:
        parts = []
        for term in terms:
            i = bisect_left(self.terms, term)
            if i < len(self.terms) and self.terms[i] == term:
                parts.append(self.rows[self.offsets[i] : self.offsets[i + 1]])
        if not parts:
            return np.array([], dtype=np.int64)
        return np.unique(np.concatenate(parts)).astype(np.int64)
