"""Bulk writes: what goes in is what is stored, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from stocks.models import Stock
from stocks.services.bulk import _number_text, _values_mysql, write_columns

pytestmark = pytest.mark.django_db

# Values the ingest writes, at the edges of what their columns hold (prices to 15 significant
# digits: SQLite keeps a decimal column as a double).
EDGES = [
    {"price": Decimal("0.0001"), "change": Decimal("-99999999999.9999"), "volume": 0},
    {"price": Decimal("99999999999.9999"), "change": Decimal("-0.0000"), "volume": 2**63 - 1},
    {"price": Decimal("1E+3"), "change": None, "volume": None},
    {"price": Decimal("12.5000"), "change": Decimal("0"), "volume": 1},
]
RATIOS = [1.5, -0.0, 1e-05, 1e16, 123456.789012, -2.5e-300, None, 0.1 + 0.2]


def test_write_columns__edge_values_stored_exactly(stock_factory):
    stocks = [stock_factory(ticker=f"E{n}") for n in range(len(RATIOS))]
    at = datetime(2026, 12, 4, 21, 0, 0, 123456, tzinfo=UTC)
    for stock, edge, ratio in zip(stocks, EDGES * 2, RATIOS, strict=True):
        for name, value in edge.items():
            setattr(stock, name, value)
        stock.change_percent, stock.quote_time = ratio, at

    written = ["price", "change", "volume", "change_percent", "quote_time"]
    assert write_columns(stocks, written) == len(stocks)

    stored = {s.ticker: s for s in Stock.objects.filter(ticker__in=[s.ticker for s in stocks])}
    for stock in stocks:
        for name in written:
            assert getattr(stored[stock.ticker], name) == getattr(stock, name), (stock, name)
        # What a bulk write leaves out is kept.
        assert stored[stock.ticker].name == stock.name


def test_number_text__is_mysqlclients_own_literal():
    """The text written for a number is, byte for byte, what mysqlclient would send."""
    converters = pytest.importorskip("MySQLdb.converters")
    for value in [
        0, -1, 2**63 - 1, -(2**63),
        Decimal("1.2345"), Decimal("-0.0001"), Decimal("1E+3"), Decimal("-0"), Decimal("1E-10"),
        1.5, -0.0, 1e-05, 1e16, 0.1 + 0.2, 5e-324, None,
    ]:  # fmt: skip
        expected = converters.conversions[type(value)](value, converters.conversions)
        assert _number_text(value).encode() == (
            expected if isinstance(expected, bytes) else expected.encode()
        ), value


@pytest.mark.parametrize(
    "value",
    [
        "it's", "%s", "50%", b"bytes", True, Decimal("NaN"), Decimal("Infinity"), float("nan"),
        float("inf"), datetime(2026, 1, 1, tzinfo=UTC),
    ],
)  # fmt: skip
def test_number_text__anything_else_stays_a_driver_parameter(value):
    assert _number_text(value) is None
    sql, params = _values_mysql([[1, value]], 2)
    assert sql == "(1, %s)"
    assert params == [value]
