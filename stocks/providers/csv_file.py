"""
Market data from CSV files (the ``import_market_data`` command).

Bars:   ticker,date,open,high,low,close,volume
Quotes: ticker,price,quote_time[,previous_close,open,day_high,day_low,volume,
        market_cap,pe_ratio,eps,dividend_yield,beta]

Every row is parsed before anything is written; a bad row is reported with its line
number (the header is line 1).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Generic, TextIO, TypeVar

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .base import Bar, Quote

T = TypeVar("T")

BAR_COLUMNS = ("ticker", "date", "open", "high", "low", "close", "volume")
QUOTE_REQUIRED = ("ticker", "price", "quote_time")
QUOTE_OPTIONAL = (
    "previous_close", "open", "day_high", "day_low", "volume", "market_cap",
    "pe_ratio", "eps", "dividend_yield", "beta",
)  # fmt: skip


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Parsed(Generic[T]):
    """Rows that parsed, the file line each came from, and the lines that did not."""

    rows: list[T]
    lines: list[int]
    errors: list[LineError]


def _decimal(value: str, column: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{column} {value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{column} {value!r} is not a finite number")
    return number


def _int(value: str, column: str) -> int:
    number = _decimal(value, column)
    if number != number.to_integral_value():
        raise ValueError(f"{column} {value!r} is not a whole number")
    return int(number)


def _date(value: str, column: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{column} {value!r} is not a YYYY-MM-DD date") from None


def _datetime(value: str, column: str) -> datetime:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(f"{column} {value!r} is not an ISO 8601 date-time")
    if timezone.is_naive(parsed):
        raise ValueError(f"{column} {value!r} needs a UTC offset (e.g. 2026-11-20T21:00:00Z)")
    return parsed


def _optional(row: dict, column: str, convert: Callable[[str, str], object]) -> object:
    value = (row.get(column) or "").strip()
    return convert(value, column) if value else None


def _parse(handle: TextIO, required: Iterable[str], build: Callable[[dict], T]) -> Parsed[T]:
    reader = csv.DictReader(handle)
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        return Parsed([], [], [LineError(1, f"missing column(s): {', '.join(missing)}")])
    parsed: Parsed[T] = Parsed([], [], [])
    for row in reader:
        line = reader.line_num
        if None in row:
            parsed.errors.append(LineError(line, "more fields than columns"))
            continue
        try:
            for column in required:
                if not (row.get(column) or "").strip():
                    raise ValueError(f"{column} is empty")
            parsed.rows.append(build(row))
            parsed.lines.append(line)
        except ValueError as exc:
            parsed.errors.append(LineError(line, str(exc)))
    return parsed


def _bar(row: dict) -> Bar:
    return Bar(
        ticker=row["ticker"].strip(),
        date=_date(row["date"].strip(), "date"),
        open=_decimal(row["open"].strip(), "open"),
        high=_decimal(row["high"].strip(), "high"),
        low=_decimal(row["low"].strip(), "low"),
        close=_decimal(row["close"].strip(), "close"),
        volume=_int(row["volume"].strip(), "volume"),
    )


def _float(value: str, column: str) -> float:
    return float(_decimal(value, column))


def _quote(row: dict) -> Quote:
    return Quote(
        ticker=row["ticker"].strip(),
        price=_decimal(row["price"].strip(), "price"),
        quote_time=_datetime(row["quote_time"].strip(), "quote_time"),
        previous_close=_optional(row, "previous_close", _decimal),
        open=_optional(row, "open", _decimal),
        day_high=_optional(row, "day_high", _decimal),
        day_low=_optional(row, "day_low", _decimal),
        volume=_optional(row, "volume", _int),
        market_cap=_optional(row, "market_cap", _int),
        pe_ratio=_optional(row, "pe_ratio", _float),
        eps=_optional(row, "eps", _decimal),
        dividend_yield=_optional(row, "dividend_yield", _float),
        beta=_optional(row, "beta", _float),
    )


def parse_bars(handle: TextIO) -> Parsed[Bar]:
    return _parse(handle, BAR_COLUMNS, _bar)


def parse_quotes(handle: TextIO) -> Parsed[Quote]:
    return _parse(handle, QUOTE_REQUIRED, _quote)
