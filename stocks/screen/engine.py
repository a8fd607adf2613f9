"""
The in-memory screen engine: a columnar snapshot of every active stock, and the screen
run on it with numpy.

A ``Snapshot`` holds, for one data version, each registry field as an array: decimals as
int64 in units of 10^-4 (the columns' scale, so comparisons are exact, as MySQL and
PostgreSQL make them), integers as int64, floats as float64, strings as codes into a
vocabulary, the quote time in microseconds, each with a mask of which rows have a value.
On SQLite, which stores decimals as doubles and compares them so, decimals are float64
and compared as SQLite compares them: the engine answers what the database would.

Rows are in the database's ticker order, so a row's index is its rank for the ticker
tiebreak; each ordering's
permutation (nulls last, ties by ticker) is computed once at build, and the order of
names comes from the database itself, so its collation decides, as it does in SQL.

A screen then costs one vectorised comparison per filter, a sum for the count and a
gather along the precomputed permutation for the page. The SQL screen (``sql.py``) is the
reference: ``tests/screen/test_equivalence.py`` proves both give the same count and rows.
"""

from __future__ import annotations

import contextlib
import decimal
import gc
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connections
from django.db.models import CharField, F, FloatField
from django.db.models.functions import Cast

from .. import database_guard
from . import sql
from .fields import BY_NAME, FIELDS, FILTERS, LIST_FIELDS, Kind, Op

# Reading every stock may take longer than a request's query may: a build's reads may take
# a third of the worker's time limit in all (gunicorn's default 30 s when it has none), so a
# frozen server never gets the worker killed mid-build.
BUILD_READ_SECONDS = (settings.GUNICORN["timeout"] or 30) / 3

SCALE = 10_000  # DecimalField(decimal_places=4)
_QUANTUM = Decimal("0.0001")
# Integers up to 2^53 are exact as doubles: decimals below 2^53 / 10^4 (about 9 * 10^11)
# read as doubles round back to their exact scaled value.
_EXACT_DOUBLE = 2**53
# Django reads SQLite's doubles to 15 significant digits: from 10^11 up that drops decimals.
_SQLITE_DIGITS = decimal.Context(prec=15)
_SQLITE_EXACT = 1e11
_INT64_MAX = np.iinfo(np.int64).max
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Exact equality on strings is the database's collation's business: MySQL's _ci
# collations match "energy" and "Energy ". Elsewhere the binary comparison is exact.
_COLLATING_VENDORS = frozenset({"mysql"})


_NAME_ORDER_LOCK = threading.Lock()
# How long a name order read from the database is taken over by the next snapshots of the
# same stocks and names (Snapshot.inherit_from) before it is read again.
NAME_ORDER_REUSE_SECONDS = 3600
_CHUNK_ROWS = 20_000
# Row numbers in the orderings: int32 holds two billion stocks in half the memory.
_ROW = np.int32


class Unsupported(Exception):
    """The engine cannot answer this request exactly; the SQL screen must."""


@dataclass
class Column:
    values: np.ndarray
    valid: np.ndarray  # bool: the row has a value (not NULL)


@dataclass
class Snapshot:
    version: int | None
    vendor: str
    exact_decimals: bool  # False on SQLite: decimals are doubles there
    size: int
    ids: np.ndarray
    tickers: list[str]
    numbers: dict[str, Column]  # by field name: decimal, float, integer, datetime
    codes: dict[str, np.ndarray]  # by field name: string columns as vocabulary codes
    vocabularies: dict[str, list[str]]
    names: list[str]
    # Per orderable field: row indexes in ascending order (nulls last, ticker ascending),
    # and how many of them have a value.
    ascending: dict[str, np.ndarray]
    present: dict[str, int]
    built_in: float = 0.0  # seconds the build took
    built_at: float = 0.0  # when it was built, Unix time
    name_order_read_at: float = 0.0  # when the name order was read from the database
    _words: Any = None
    _collated: dict[tuple[str, str], np.ndarray | None] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        arrays = [self.ids, *self.codes.values(), *self.ascending.values()]
        arrays += [a for c in self.numbers.values() for a in (c.values, c.valid)]
        return sum(a.nbytes for a in arrays)

    # --- filters ------------------------------------------------------------------------

    def mask(self, criteria: tuple[tuple[str, Any], ...]) -> np.ndarray:
        """Rows matching every criterion."""
        selected = np.ones(self.size, dtype=bool)
        for param, value in criteria:
            selected &= self._condition(param, value)
        return selected

    def _condition(self, param: str, value: Any) -> np.ndarray:
        flt = FILTERS[param]
        fld = BY_NAME[flt.field]
        if flt.op is Op.IN:
            rows = [row for row in map(self.row_of, value) if row is not None]
            hit = np.zeros(self.size, dtype=bool)
            hit[rows] = True
            return hit
        if flt.op is Op.EXACT:
            return np.isin(self.codes[fld.name], self._equal_codes(fld.name, fld.column, value))
        column = self.numbers[fld.name]
        if flt.op in (Op.GTE, Op.LTE):
            kind = fld.kind if self.exact_decimals or fld.kind is not Kind.DECIMAL else Kind.FLOAT
            bound = _bound(kind, flt.op, value)
            compare = np.greater_equal if flt.op is Op.GTE else np.less_equal
            return column.valid & compare(column.values, bound)
        price = self.numbers["price"]
        both = price.valid & column.valid
        if flt.op is Op.PRICE_ABOVE:
            above = price.values > column.values
            return both & (above if value else ~above)
        if flt.op is Op.PRICE_NEAR:
            if not self.exact_decimals:  # SQLite: price >= high * factor, in doubles
                factor = float(1 - Decimal(value) / 100)
                return both & (price.values >= column.values * factor)
            return both & _near(price.values, column.values, Decimal(value))
        raise AssertionError(f"unhandled operator {flt.op}")

    def _equal_codes(self, name: str, column: str, value: str) -> np.ndarray:
        vocabulary = self.vocabularies[name]
        if self.vendor not in _COLLATING_VENDORS:
            try:
                return np.array([vocabulary.index(value)])
            except ValueError:
                return np.array([], dtype=np.int32)
        key = (name, value)
        if key not in self._collated:
            # Ask the database which of our values equal this one under its collation;
            # remembered for the snapshot's life (one small indexed query per value).
            from ..models import Stock

            # Every matching row, not DISTINCT: a _ci DISTINCT would merge the spellings.
            equal = set(
                Stock.objects.filter(**{column: value}).order_by().values_list(column, flat=True)
            )
            self._collated[key] = np.array(
                [code for code, text in enumerate(vocabulary) if text in equal], dtype=np.int32
            )
        return self._collated[key]

    # --- ordering and slicing -----------------------------------------------------------

    def order(self, field_name: str, descending: bool) -> np.ndarray:
        """
        Row indexes in the list order: nulls last, ties by ticker in the same direction.
        Each ascending order is sorted on first use and kept (``prepare`` sorts them all);
        a descending one is read off it (0.1 ms at 100,000 stocks; half the memory).
        """
        ascending = self.ascending.get(field_name)
        if ascending is None:
            ascending = self._ascending(field_name)
        if not descending:
            return ascending
        present = self.present[field_name]
        return np.concatenate((ascending[:present][::-1], ascending[present:][::-1]))

    def _ascending(self, field_name: str) -> np.ndarray:
        if field_name == "name":
            self._read_name_order()
            return self.ascending["name"]
        column = self.numbers[field_name]
        with_value = np.flatnonzero(column.valid)
        # Rows are in ticker order, so a stable sort leaves ties in ticker order.
        by_value = with_value[np.argsort(column.values[with_value], kind="stable")]
        ascending = np.concatenate((by_value, np.flatnonzero(~column.valid))).astype(_ROW)
        self.present[field_name] = len(with_value)
        self.ascending[field_name] = ascending
        return ascending

    def prepare(self) -> None:
        """Compute now what is otherwise computed on first use: before sharing the snapshot."""
        for fld in FIELDS:
            if fld.orderable:
                with contextlib.suppress(Unsupported):  # names changed since: read on use
                    self.order(fld.name, False)
        self.words()

    def inherit_from(self, previous: Snapshot | None) -> None:
        """
        Take over what depends only on the stocks and their names from ``previous``, built
        from the same stocks under the same names: after a refresh of quotes or bars, the
        common case, neither is read or built again. The search word index always; the
        name order, which the database's collation decides, only within
        ``NAME_ORDER_REUSE_SECONDS`` of its reading (a collation changed under a running
        process is followed within that time).
        """
        if (
            previous is None
            or previous.vendor != self.vendor
            or previous.size != self.size
            or not np.array_equal(previous.ids, self.ids)
            or previous.tickers != self.tickers
            or previous.names != self.names
        ):
            return
        with _NAME_ORDER_LOCK:  # previous may be ordering by name right now
            fresh = time.time() - previous.name_order_read_at < NAME_ORDER_REUSE_SECONDS
            if "name" in previous.ascending and fresh:
                self.ascending["name"] = previous.ascending["name"]  # read-only
                self.name_order_read_at = previous.name_order_read_at
            if previous._words is not None:
                self._words = previous._words  # read-only once built

    def row_of(self, ticker: str) -> int | None:
        """The row of ``ticker`` (rows are in ticker order), or None."""
        row = bisect_left(self.tickers, ticker)
        return row if row < self.size and self.tickers[row] == ticker else None

    def _read_name_order(self) -> None:
        """
        The order of names is the database's to decide (its collation, as in the SQL
        screen), read the first time a screen is ordered by name. The data may have moved
        on since the build: if the stocks or their names differ, the SQL screen answers.
        """
        from ..models import Stock

        with _NAME_ORDER_LOCK:
            if "name" in self.ascending:
                return
            row_of = {int(pk): row for row, pk in enumerate(self.ids.tolist())}
            listed = Stock.objects.active().order_by("name", "ticker").values_list("id", "name")
            order = []
            connection = connections[listed.db]
            # A server-side cursor's fetches are round trips no query wrapper sees: the
            # whole read is bounded (its connection opened and checked first).
            with (
                database_guard.widened_for_reads(BUILD_READ_SECONDS),
                database_guard.bounded(connection.connection, "the name order"),
            ):
                for pk, name in listed.iterator(chunk_size=10_000):
                    row = row_of.get(pk)
                    if row is None or self.names[row] != name:
                        raise Unsupported("the stocks changed since the snapshot was built")
                    order.append(row)
            if len(order) != self.size:
                raise Unsupported("the stocks changed since the snapshot was built")
            ordered = np.array(order, dtype=_ROW)
            ordered.flags.writeable = False  # shared with the next snapshots (inherit_from)
            self.ascending["name"] = ordered
            self.name_order_read_at = time.time()

    def words(self):
        """The name-word index for search (``lookup.WordIndex``), built on first use."""
        if self._words is None:
            from .lookup import WordIndex

            with _NAME_ORDER_LOCK:
                if self._words is None:
                    self._words = WordIndex(self.names)
        return self._words

    def position_value(self, field_name: str, row: int) -> Any:
        """The exact value a cursor records for ``row`` (as the SQL screen would)."""
        if field_name in ("ticker",):
            return None
        if field_name == "name":
            return self.names[row]
        column = self.numbers[field_name]
        if not column.valid[row]:
            return None
        raw = column.values[row].item()
        kind = BY_NAME[field_name].kind
        if kind is Kind.DECIMAL:
            if self.exact_decimals:
                return Decimal(raw).scaleb(-4)
            return _as_django_reads_sqlite(raw)
        return raw

    # --- rendering ----------------------------------------------------------------------

    def render(self, rows: np.ndarray, fields: tuple[str, ...] | None, stale_before) -> list:
        """Public rows for ``rows`` (indexes), in that order."""
        names = fields or LIST_FIELDS
        columns: list[list] = []
        for name in names:
            columns.append(self._public_column(name, rows, stale_before))
        return [dict(zip(names, values)) for values in zip(*columns)]  # noqa: B905 - equal

    def _public_column(self, name: str, rows: np.ndarray, stale_before: datetime) -> list:
        if name == "ticker":
            return [self.tickers[r] for r in rows.tolist()]
        if name == "name":
            return [self.names[r] for r in rows.tolist()]
        if name == "is_stale":
            quoted = self.numbers["as_of"]
            threshold = _micros(stale_before)
            stale = ~quoted.valid[rows] | (quoted.values[rows] < threshold)
            return stale.tolist()
        if name in self.codes:
            vocabulary = self.vocabularies[name]
            return [vocabulary[c] for c in self.codes[name][rows].tolist()]
        column = self.numbers[name]
        valid = column.valid[rows]
        kind = BY_NAME[name].kind
        if kind is Kind.DATETIME:
            stamps = np.datetime_as_string(column.values[rows].astype("datetime64[us]"), "us")
            values = [stamp + "Z" for stamp in stamps.tolist()]
        elif kind is Kind.DECIMAL and self.exact_decimals:
            scaled = column.values[rows]
            values = (scaled / SCALE).tolist()
            # Past 2^53 an int64 -> double conversion rounds: those few go through Decimal.
            for i in np.flatnonzero(np.abs(scaled) > _EXACT_DOUBLE).tolist():
                values[i] = float(Decimal(int(scaled[i])).scaleb(-4))
        elif kind is Kind.DECIMAL:
            doubles = column.values[rows]
            values = doubles.tolist()
            for i in np.flatnonzero(np.abs(doubles) >= _SQLITE_EXACT).tolist():
                values[i] = float(_as_django_reads_sqlite(values[i]))
        else:
            values = column.values[rows].tolist()
        if valid.all():
            return values
        return [v if ok else None for v, ok in zip(values, valid.tolist(), strict=True)]


def _as_django_reads_sqlite(value: float) -> Decimal:
    """A SQLite decimal as Django reads it: the double to 15 significant digits, 4 places."""
    return _SQLITE_DIGITS.create_decimal_from_float(value).quantize(_QUANTUM)


def matching(order: np.ndarray, selected: np.ndarray, start: int, count: int) -> np.ndarray:
    """
    The ``count`` matching rows from the ``start``-th on, in ``order``. Early pages (the
    common case) look at the head of the order only, a chunk at a time, instead of gathering
    the whole order: a wide screen's first page is found in the first few thousand rows.
    """
    wanted = start + count
    scanned, found = 0, []
    chunk = max(4096, wanted * 4)
    while scanned < len(order) and sum(len(f) for f in found) < wanted:
        piece = order[scanned : scanned + chunk]
        found.append(piece[selected[piece]])
        scanned += chunk
        chunk *= 4
    hits = np.concatenate(found) if found else order[:0]
    return hits[start:wanted]


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _bound(kind: Kind, op: Op, value: Decimal) -> Any:
    """A filter bound in the column's representation, rounded inward, clamped to int64."""
    if kind is Kind.FLOAT:
        return float(value)
    whole = sql.inward(op, value * SCALE if kind is Kind.DECIMAL else value)
    return max(-_INT64_MAX, min(_INT64_MAX, whole))


def _near(price: np.ndarray, high: np.ndarray, within: Decimal) -> np.ndarray:
    """
    price >= high * (1 - within/100), exactly as a decimal database computes it. ``within``
    has at most 6 decimals, so with w = within * 10^6 the test is the integer one
    price * 10^8 >= high * (10^8 - w). Floats decide every row but those within rounding
    of the boundary, which are decided in Python integers.
    """
    w = int(within * 10**6)
    lhs = price.astype(np.float64) * 1e8
    rhs = high.astype(np.float64) * float(10**8 - w)
    result = lhs >= rhs
    close = np.flatnonzero(np.abs(lhs - rhs) <= 1e-9 * np.maximum(np.abs(lhs), np.abs(rhs)))
    for row in close.tolist():
        result[row] = int(price[row]) * 10**8 >= int(high[row]) * (10**8 - w)
    return result


# --- building ---------------------------------------------------------------------------

_CATEGORIES = tuple(
    f.name for f in FIELDS if f.kind is Kind.STRING and f.name not in ("ticker", "name")
)
_NUMBERS = tuple(f for f in FIELDS if f.numeric or f.kind is Kind.DATETIME)


def build(version: int | None, using: str = "default") -> Snapshot:
    """Read every active stock in one query and build its snapshot."""
    # The read makes millions of short-lived objects and no cycles: the cyclic collector
    # would run dozens of times for nothing (a third of the build time at 100,000 stocks).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(version, using)
    finally:
        if collecting:
            gc.enable()


def _build(version: int | None, using: str) -> Snapshot:
    from ..models import Stock

    started = time.perf_counter()
    active = Stock.objects.using(using).active()
    names = ("id", "ticker", "name", *(BY_NAME[c].column for c in _CATEGORIES))
    vendor = connections[using].vendor
    exact = vendor != "sqlite"
    kinds = [Kind.FLOAT if f.kind is Kind.DECIMAL and not exact else f.kind for f in _NUMBERS]
    # Read and convert a chunk at a time: the rows of 100,000 stocks as Python objects
    # would add some 200 MB to the worker's peak (and its RSS: the allocator keeps it).
    id_parts: list[np.ndarray] = []
    tickers: list[str] = []
    stock_names: list[str] = []
    code_of: dict[str, dict[str, int]] = {name: {} for name in _CATEGORIES}
    code_parts: dict[str, list[np.ndarray]] = {name: [] for name in _CATEGORIES}
    number_parts: dict[str, list[Column]] = {f.name: [] for f in _NUMBERS}
    for chunk in _read_chunks(active, names, vendor):
        columns = list(zip(*chunk, strict=True))
        id_parts.append(np.array(columns[0], dtype=np.int64))
        tickers.extend(columns[1])
        stock_names.extend(columns[2])
        for offset, name in enumerate(_CATEGORIES, start=3):
            index = code_of[name]
            for value in dict.fromkeys(columns[offset]):
                index.setdefault(value, len(index))
            code_parts[name].append(
                np.fromiter(map(index.__getitem__, columns[offset]), np.int32, len(chunk))
            )
        for offset, (fld, kind) in enumerate(zip(_NUMBERS, kinds, strict=True), len(names)):
            number_parts[fld.name].append(_column(kind, columns[offset]))
    size = len(tickers)
    # Canonical tickers hold only [A-Z0-9.], which every backend's collation orders as
    # Python does (binary on SQLite, C on PostgreSQL, punctuation < digits < letters in
    # MySQL's): sorting here gives the database's ticker order without an ORDER BY.
    by_ticker = sorted(range(size), key=tickers.__getitem__)
    rows = np.array(by_ticker, dtype=np.int64)
    tickers = [tickers[i] for i in by_ticker]
    stock_names = [stock_names[i] for i in by_ticker]
    ids = _joined(id_parts, np.int64)[rows]
    codes = {name: _joined(parts, np.int32)[rows] for name, parts in code_parts.items()}
    numbers = {}
    for fld, kind in zip(_NUMBERS, kinds, strict=True):
        parts = number_parts[fld.name]
        dtype = np.float64 if kind is Kind.FLOAT else np.int64
        numbers[fld.name] = Column(
            values=_joined([c.values for c in parts], dtype)[rows],
            valid=_joined([c.valid for c in parts], bool)[rows],
        )
        if kind is Kind.DECIMAL:
            _read_large_exactly(active, fld.column, numbers[fld.name], ids)
    # Orderings are sorted on first use (``Snapshot.order``); the ticker's is the row order.
    ascending = {"ticker": np.arange(size, dtype=_ROW)}
    present = {"ticker": size, "name": size}
    return Snapshot(
        version=version,
        vendor=vendor,
        exact_decimals=exact,
        size=size,
        ids=ids,
        tickers=tickers,
        numbers=numbers,
        codes=codes,
        vocabularies={name: list(index) for name, index in code_of.items()},
        names=stock_names,
        ascending=ascending,
        present=present,
        built_in=time.perf_counter() - started,
        built_at=time.time(),
    )


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts) if parts else np.array([], dtype=dtype)


def _read_large_exactly(active, column: str, values: Column, ids: np.ndarray) -> None:
    """Re-read exactly the (rare) decimals too large to come back exact from a double."""
    large = np.flatnonzero(values.valid & (np.abs(values.values) >= _EXACT_DOUBLE))
    if not len(large):
        return
    row_of = {int(ids[row]): int(row) for row in large}
    for pk, value in active.filter(pk__in=list(row_of)).values_list("id", column):
        values.values[row_of[pk]] = int(value.scaleb(4))


def _read_chunks(active, names: tuple[str, ...], vendor: str) -> Iterator[list[tuple]]:
    """
    One query for the list columns of every active stock, fetched in chunks. Run on the
    driver's cursor: Django's per-value converters (a Decimal and an aware datetime per
    cell) would cost more than the whole query. Decimals arrive as doubles (``_column`` and
    ``_read_large_exactly`` make them exact); SQLite's timestamps as their text.
    """
    selected = {}
    for i, f in enumerate(_NUMBERS):
        if f.kind is Kind.DECIMAL:
            selected[f"_n{i}"] = Cast(f.column, FloatField())
        elif f.kind is Kind.DATETIME and vendor == "sqlite":
            selected[f"_n{i}"] = Cast(f.column, CharField())
        else:
            selected[f"_n{i}"] = F(f.column)
    query = active.order_by().annotate(**selected).values_list(*names, *selected)
    sql, params = query.query.sql_with_params()
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(_CHUNK_ROWS):
            yield list(chunk)


def _column(kind: Kind, values: tuple) -> Column:
    """A column of driver values (None for NULL) as an array and its validity mask."""
    if kind is Kind.DATETIME:
        valid = np.fromiter(map(_is_value, values), bool, len(values))
        return Column(values=_timestamps(values, valid), valid=valid)
    doubles = np.array(values, dtype=np.float64)  # None becomes NaN (no stored value is NaN)
    valid = ~np.isnan(doubles)
    if kind is Kind.FLOAT:
        data = doubles
    elif kind is Kind.DECIMAL:
        data = np.rint(np.where(valid, doubles, 0.0) * SCALE).astype(np.int64)
    elif valid.all():
        data = np.array(values, dtype=np.int64)
    else:  # integers past 2^53 are not exact as doubles: fill the NULLs instead
        data = np.array([0 if v is None else v for v in values], dtype=np.int64)
    return Column(values=data, valid=valid)


def _is_value(value: Any) -> bool:
    return value is not None


def _timestamps(values: tuple, valid: np.ndarray) -> np.ndarray:
    """Microseconds since the epoch, UTC. SQLite's driver answers text, the others datetimes
    (aware on PostgreSQL; naive UTC on MySQL, as Django stores them with USE_TZ)."""
    present = [value for value in values if value is not None]
    if present and isinstance(present[0], datetime) and present[0].tzinfo is not None:
        present = [value.astimezone(UTC).replace(tzinfo=None) for value in present]
    micros = np.zeros(len(values), dtype=np.int64)
    micros[valid] = np.array(present, dtype="datetime64[us]").astype(np.int64)
    return micros
