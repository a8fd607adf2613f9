"""Search on the engine's snapshot and the SQL search give the same hits, in the same order."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stocks.models import SearchTerm, Stock
from stocks.screen import engine, lookup
from stocks.screen.rows import render_values
from stocks.search import name_terms

pytestmark = pytest.mark.django_db

STALE_BEFORE = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
WORDS = (
    "alpha", "alphabet", "alpine", "bank", "banco", "america", "american", "of", "s", "p",
    "global", "micro", "microsoft", "microchip", "at", "t", "health", "healthcare", "energy",
    "énergie", "co", "corp", "inc", "zeta", "a", "b", "quantum", "north", "northern", "power",
)  # fmt: skip
TICKERS = ("A", "AA", "AAL", "AAPL", "AB", "B", "BA", "BAC", "BRK.A", "BRK.B", "T", "TT", "MS",
           "MSFT", "MSI", "Z", "ZZ", "GE", "GEHC", "F")  # fmt: skip


def _populate(seed: int) -> engine.Snapshot:
    rng = random.Random(seed)
    tickers = list(TICKERS) + [f"{rng.choice('ABMTZ')}{i}" for i in range(120)]
    stocks = [
        Stock(
            ticker=ticker,
            name=" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))).title(),
            market_cap=rng.choice([None, 10**9, 10**9, 5 * 10**9, rng.randint(1, 10**12)]),
            is_active=rng.random() > 0.1,
        )
        for ticker in tickers
    ]
    Stock.objects.bulk_create(stocks)
    ids = dict(Stock.objects.values_list("ticker", "id"))
    SearchTerm.objects.bulk_create(
        SearchTerm(stock_id=ids[s.ticker], term=t) for s in stocks for t in name_terms(s.name)
    )
    return engine.build(version=1)


def _typo(draw, word: str) -> str:
    if len(word) < 3:
        return word
    i = draw(st.integers(1, len(word) - 1))
    return word[:i] + draw(st.sampled_from("aeioux")) + word[i + 1 :]


@st.composite
def queries(draw) -> str:
    kind = draw(st.sampled_from(["ticker", "ticker_prefix", "words", "typo", "noise"]))
    if kind == "ticker":
        return draw(st.sampled_from(TICKERS)).lower()
    if kind == "ticker_prefix":
        return draw(st.sampled_from(TICKERS))[: draw(st.integers(1, 3))]
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))
    if kind == "words":
        return " ".join(w[: draw(st.integers(1, len(w)))] for w in words)
    if kind == "typo":
        return " ".join(_typo(draw, w) for w in words)
    return draw(st.text(alphabet="abmstz .&-", min_size=1, max_size=12)).strip() or "a"


def _sql(query: str, limit: int) -> list[dict]:
    hits = Stock.objects.search_values(query, limit)
    rows = render_values(hits, None, STALE_BEFORE)
    return [{"match": hit["match"], **row} for hit, row in zip(hits, rows, strict=True)]


@pytest.mark.parametrize("seed", [1, 2])
def test_search__snapshot_and_sql_agree(seed):
    """Any query, any limit: the same hits with the same match, in the same order."""
    snapshot = _populate(seed)

    @settings(max_examples=250, deadline=None, derandomize=True, database=None)
    @given(query=queries(), limit=st.integers(1, 12))
    def check(query, limit):
        assert lookup.search(snapshot, query, limit, STALE_BEFORE) == _sql(query, limit)

    check()
