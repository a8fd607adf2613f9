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
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from ..tickers import TICKER_INPUT, normalize_ticker
from . import fields as registry
from .fields import FILTERS, FRESHNESS_FIELDS, LIST_FIELDS, Filter, Invalid, Op, SortKey

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
# The longest sparse field set worth reading: every field once is 218 characters.
FIELDS_MAX_LENGTH = 600
# The longest boolean word, white space around it included.
WORDS_MAX_LENGTH = 16
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
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_LARGEST = Decimal(10) ** registry.NUMBER_MAX_WHOLE_DIGITS
_PRICE_QUANTUM = Decimal(1).scaleb(-registry.PRICE_DECIMAL_PLACES)
_NEAR_QUANTUM = Decimal(1).scaleb(-registry.NEAR_DECIMAL_PLACES)


def _number(text: str, flt: Filter) -> Decimal:
    """A finite number below 10^18 in absolute value, within the filter's own range."""
    text = trimmed(text)
    if not _NUMBER.fullmatch(text):
        raise Invalid("Enter a number.")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid("Enter a number.") from None
    if not value.is_finite():
        raise Invalid("Enter a number.")
    if not -_LARGEST < value < _LARGEST:  # (exact: abs() would round to 28 digits)
        raise Invalid(f"Must be less than 10^{registry.NUMBER_MAX_WHOLE_DIGITS} in absolute value.")
    if flt.minimum is not None and value < flt.minimum:
        raise Invalid(f"Must be {flt.minimum} or more.")
    if flt.maximum is not None and value > flt.maximum:
        raise Invalid(f"Must be {flt.maximum} or less.")
    return value


def _bound(text: str, flt: Filter) -> Decimal:
    """
    A range bound, read as exactly as its column can be compared with it: to the column's
    scale rounded inward for the exact kinds (>= 1.00001 is >= 1.0001 on a price, >= 0.5 is
    >= 1 on a volume: the same rows), as the nearest double for the double columns (as the
    database compares them).
    """
    value = _number(text, flt)
    kind = registry.BY_NAME[flt.field].kind
    if kind is registry.Kind.FLOAT:
        return _canonical(Decimal(repr(float(value))))
    quantum = _PRICE_QUANTUM if kind is registry.Kind.DECIMAL else Decimal(1)
    inward = ROUND_CEILING if flt.op is Op.GTE else ROUND_FLOOR
    return _canonical(value.quantize(quantum, rounding=inward))


def _canonical(value: Decimal) -> Decimal:
    """One spelling per value (a cache key, a link): no trailing zeros, no negative zero."""
    return value.normalize() + 0


def _word(text: str) -> str:
    return trimmed(text).lower() if len(text) <= WORDS_MAX_LENGTH else ""


def _boolean(text: str, flt: Filter) -> bool:
    word = _word(text)
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Invalid("Enter true or false.")


def _near(text: str, flt: Filter) -> Decimal:
    word = _word(text)
    # "1" is a percent here (within 1%), not a boolean: only the words mean "within 5%".
    if word in TRUE_WORDS and not word.isdigit():
        return Decimal(5)
    return _canonical(_number(text, flt).quantize(_NEAR_QUANTUM, rounding=ROUND_HALF_EVEN))


def _string(text: str, flt: Filter) -> str:
    if flt.max_length is not None and len(text) > flt.max_length:
        raise Invalid(f"Use at most {flt.max_length} characters.")
    if "\x00" in text:
        raise Invalid("Null characters are not allowed.")
    return trimmed(text)


class TickerList(str):
    """``tickers`` from a POST body's JSON list, already checked: counted, not measured."""


def _tickers(text: str, flt: Filter) -> tuple[str, ...]:
    if not isinstance(text, TickerList) and len(text) > registry.TICKERS_MAX_LENGTH:
        raise Invalid(
            f"Use at most {registry.TICKERS_MAX_LENGTH} characters (in a POST body, a list of"
            f" up to {registry.MAX_TICKERS} tickers)."
        )
    tickers = set()
    for item in filter(None, map(trimmed, text.split(","))):
        if not TICKER_INPUT.fullmatch(item):
            raise Invalid(f"{item[:32]!r} is not a valid ticker symbol.")
        tickers.add(normalize_ticker(item))
    return tuple(sorted(tickers))


_PARSERS: dict[Op, Callable[[str, Filter], Any]] = {
    Op.GTE: _bound,
    Op.LTE: _bound,
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
    if len(raw) > FIELDS_MAX_LENGTH:
        raise Invalid(f"Use at most {FIELDS_MAX_LENGTH} characters.")
    names = tuple(dict.fromkeys(f for f in map(trimmed, raw.split(",")) if f))
    if not names:  # only commas and white space: blank
        return None
    unknown = [name for name in names if name not in LIST_FIELDS]
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:10])
        raise Invalid(f"Unknown field(s): {shown}. Allowed: {', '.join(LIST_FIELDS)}.")
    # Every row says how fresh it is, whatever else was asked for.
    return tuple(dict.fromkeys((*names, *FRESHNESS_FIELDS)))


# The longest query string whose parse is remembered (a few hundred bytes bound the memory
# it takes: a long list of tickers is parsed each time, as every query was).
REMEMBERED_QUERY_BYTES = 512


def parse_query_string(query_string: bytes) -> tuple[ScreenQuery, QueryDict]:
    """
    ``parse_screen`` of a raw query string, and the parameters as Django reads them into
    ``request.GET`` (immutable: shared, never changed); for a short one, remembered: the
    screens asked again and again (the cached ones) skip the parse. A refused query raises
    each time, as it did.
    """
    if len(query_string) > REMEMBERED_QUERY_BYTES:
        return _parse(query_string)
    return _remembered(query_string)


def _parse(query_string: bytes) -> tuple[ScreenQuery, QueryDict]:
    params = QueryDict(query_string)
    return parse_screen(params), params


_remembered = functools.lru_cache(maxsize=256)(_parse)


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
