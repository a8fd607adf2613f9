"""
The screen's query parameters, parsed by a parser compiled once from the registry.

``parse_screen(query_params)`` returns a ``ScreenQuery``: the filters that were given
(normalised: defaults filled in, empty values dropped, tickers canonical), the ordering
and the sparse field set. Every bad value is collected and reported in one 400 naming
each parameter, with the standard error body (``stocks.errors``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rest_framework.exceptions import ValidationError

from ..tickers import InvalidTicker, normalize_ticker
from . import fields as registry
from .fields import FILTERS, FRESHNESS_FIELDS, LIST_FIELDS, Filter, Invalid, Op, SortKey

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
_WHOLE_DIGITS = registry.NUMBER_MAX_DIGITS - registry.NUMBER_DECIMAL_PLACES
# The longest ``tickers`` value worth parsing: 500 tickers of 16 characters and commas.
MAX_TICKERS_LENGTH = registry.MAX_TICKERS * 17 + 1000
# What counts as white space around a value, and as a blank value (no filter, the default):
# exactly the characters of \s in the JSON Schema (ECMA-262) regular expressions the OpenAPI
# schema states it with (``stocks.api.parameters.BLANK``), so the schema and the parser agree.
WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000\ufeff")
)


def trimmed(text: str) -> str:
    return text.strip(WHITESPACE)


def blank(text: str | None) -> bool:
    """Not given, empty, or only white space: the parameter's default."""
    return text is None or not trimmed(text)


@dataclass(frozen=True)
class ScreenQuery:
    """What a screen request asks for, validated and normalised (hashable: a cache key)."""

    criteria: tuple[tuple[str, Any], ...]  # (param, value), in registry order
    ordering: SortKey
    fields: tuple[str, ...] | None  # sparse field set, None = every list field

    def cache_params(self) -> dict[str, Any]:
        return {
            **dict(self.criteria),
            "ordering": str(self.ordering),
            "fields": self.fields,
        }


# --- value parsers ------------------------------------------------------------------------


# A number as JSON writes one (ASCII digits, no "_"), a leading "+" or a bare "." allowed.
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _decimal(text: str, flt: Filter) -> Decimal:
    text = trimmed(text)
    if not _NUMBER.fullmatch(text):
        raise Invalid("Enter a number.")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid("Enter a number.") from None
    if not value.is_finite():
        raise Invalid("Enter a number.")
    _, digits, exponent = value.as_tuple()
    places = max(0, -exponent)
    whole = max(0, len(digits) + exponent)
    if places > registry.NUMBER_DECIMAL_PLACES:
        raise Invalid(f"Use at most {registry.NUMBER_DECIMAL_PLACES} decimal places.")
    if whole > _WHOLE_DIGITS:
        raise Invalid(f"Use at most {_WHOLE_DIGITS} digits before the decimal point.")
    if flt.minimum is not None and value < flt.minimum:
        raise Invalid(f"Must be {flt.minimum} or more.")
    if flt.maximum is not None and value > flt.maximum:
        raise Invalid(f"Must be {flt.maximum} or less.")
    return value


def _boolean(text: str, flt: Filter) -> bool:
    word = trimmed(text).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Invalid("Enter true or false.")


def _near(text: str, flt: Filter) -> Decimal:
    word = trimmed(text).lower()
    # "1" is a percent here (within 1%), not a boolean: only the words mean "within 5%".
    if word in TRUE_WORDS and not word.isdigit():
        return Decimal(5)
    return _decimal(text, flt)


def _string(text: str, flt: Filter) -> str:
    text = trimmed(text)
    if "\x00" in text:
        raise Invalid("Null characters are not allowed.")
    if flt.max_length is not None and len(text) > flt.max_length:
        raise Invalid(f"Use at most {flt.max_length} characters.")
    return text


def _tickers(text: str, flt: Filter) -> tuple[str, ...]:
    if len(text) > MAX_TICKERS_LENGTH:
        raise Invalid(f"At most {registry.MAX_TICKERS} tickers.")
    raw = [part for part in map(trimmed, text.split(",")) if part]
    if len(raw) > registry.MAX_TICKERS:
        raise Invalid(f"At most {registry.MAX_TICKERS} tickers.")
    tickers = []
    for item in raw:
        try:
            tickers.append(normalize_ticker(item))
        except InvalidTicker:
            raise Invalid(f"{item[:32]!r} is not a valid ticker symbol.") from None
    return tuple(sorted(set(tickers)))


_PARSERS: dict[Op, Callable[[str, Filter], Any]] = {
    Op.GTE: _decimal,
    Op.LTE: _decimal,
    Op.EXACT: _string,
    Op.IN: _tickers,
    Op.PRICE_ABOVE: _boolean,
    Op.PRICE_NEAR: _near,
}


@functools.cache
def compiled() -> tuple[tuple[str, Filter, Callable[[str, Filter], Any]], ...]:
    """Each filter with its parser, string lengths bounded by their model columns."""
    from dataclasses import replace

    from ..models import Stock

    parsers = []
    for param, flt in FILTERS.items():
        if flt.op is Op.EXACT:
            column = registry.BY_NAME[flt.field].column
            flt = replace(flt, max_length=Stock._meta.get_field(column).max_length)
        parsers.append((param, flt, _PARSERS[flt.op]))
    return tuple(parsers)


def parse_ordering(raw: str | None) -> SortKey:
    return SortKey.parse(registry.DEFAULT_ORDERING if blank(raw) else raw)


def parse_fields(raw: str | None) -> tuple[str, ...] | None:
    if blank(raw):
        return None
    names = tuple(dict.fromkeys(f for f in map(trimmed, raw.split(",")) if f))
    if not names:  # only commas and white space: blank
        return None
    unknown = [name for name in names if name not in LIST_FIELDS]
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:10])
        raise Invalid(f"Unknown field(s): {shown}. Allowed: {', '.join(LIST_FIELDS)}.")
    # Every row says how fresh it is, whatever else was asked for.
    return tuple(dict.fromkeys((*names, *FRESHNESS_FIELDS)))


def parse_screen(params: Mapping[str, str]) -> ScreenQuery:
    """Validate every screen parameter of ``params``; a 400 names each bad one."""
    errors: dict[str, list[str]] = {}
    criteria: list[tuple[str, Any]] = []
    for param, flt, parse in compiled():
        text = params.get(param)
        if blank(text):  # an empty value means no filter
            continue
        try:
            criteria.append((param, parse(text, flt)))
        except Invalid as exc:
            errors[param] = [str(exc)]
    try:
        ordering = parse_ordering(params.get("ordering"))
    except Invalid as exc:
        errors["ordering"] = [str(exc)]
    try:
        fields = parse_fields(params.get("fields"))
    except Invalid as exc:
        errors["fields"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return ScreenQuery(criteria=tuple(criteria), ordering=ordering, fields=fields)
