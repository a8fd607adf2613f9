"""
Query parameters of the endpoints other than the screen, and the OpenAPI description of
every parameter, the screen's derived from its registry (``stocks.screen.fields``).

Each ``Params`` is declared once and compiled at import: ``parse`` validates a request's
values (every bad one named in one 400), ``schema`` documents them with their real bounds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.exceptions import ValidationError

from ..screen import fields as registry
from ..screen.fields import FILTERS, Invalid, Op
from ..screen.paging import CURSOR_PARAM, CURSOR_PATTERN, MAX_CURSOR_LENGTH
from ..screen.params import (
    FALSE_WORDS,
    FIELDS_MAX_LENGTH,
    TRUE_WORDS,
    WHITESPACE,
    WORDS_MAX_LENGTH,
    TickerList,
    blank,
    trimmed,
)
from ..tickers import TICKER_INPUT, TICKER_INPUT_PATTERN

_DIGITS = {Op.GTE, Op.LTE, Op.PRICE_NEAR}
# An optional parameter sent empty or blank (``kind=``, a form's untouched field) is the same
# as not sent: the schema says so beside each value's own schema.
BLANK = {"type": "string", "pattern": r"^\s*$"}


def or_blank(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or an empty or blank value (which means the default)."""
    return {"anyOf": [schema, BLANK]}


def server_regex(pattern: str) -> re.Pattern:
    """
    A schema pattern (ECMA-262, as JSON Schema reads it) as the server checks it: ``\\s`` is
    ECMA's white space, not Python's (which adds \\x1c-\\x1f and \\x85).
    """
    return re.compile(pattern.replace(r"\s", f"[{re.escape(WHITESPACE)}]"))


# No number a client sends reaches this in absolute value (stocks.screen.params._number).
_LARGEST = 10**registry.NUMBER_MAX_WHOLE_DIGITS


@dataclass(frozen=True)
class Param:
    name: str
    parse: Callable[[str], Any]
    description: str
    type: Any = OpenApiTypes.STR
    default: Any = None
    required: bool = False
    enum: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    def openapi(self) -> OpenApiParameter:
        schema: dict[str, Any] = dict(_SCHEMA_TYPES[self.type])
        for key, value in (
            ("minimum", self.minimum), ("maximum", self.maximum),
            ("minLength", self.min_length), ("maxLength", self.max_length),
            ("pattern", self.pattern),
            ("enum", list(self.enum) if self.enum else None), ("default", self.default),
        ):  # fmt: skip
            if value is not None:
                schema[key] = value
        return OpenApiParameter(
            self.name, schema if self.required else or_blank(schema), required=self.required,
            description=self.description,
        )  # fmt: skip


_SCHEMA_TYPES = {
    OpenApiTypes.STR: {"type": "string"},
    OpenApiTypes.INT: {"type": "integer"},
    OpenApiTypes.DATE: {"type": "string", "format": "date"},
}


def _text(max_length: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        text = trimmed(raw)
        if not text:
            raise Invalid("This field may not be blank.")
        if "\x00" in text:
            raise Invalid("Null characters are not allowed.")
        if len(text) > max_length:
            raise Invalid(f"Ensure this field has no more than {max_length} characters.")
        return text

    return parse


def _whole(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        text = raw  # as the schema's integer: no white space around it
        digits = text.removeprefix("-")
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
            raise Invalid("A valid integer is required.")
        value = int(text)
        if value < minimum:
            raise Invalid(f"Ensure this value is greater than or equal to {minimum}.")
        if value > maximum:
            raise Invalid(f"Ensure this value is less than or equal to {maximum}.")
        return value

    return parse


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise Invalid(f"{raw[:40]!r} is not a valid choice; choose from {', '.join(choices)}.")
        return raw

    return parse


_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # RFC 3339 full-date, the schema's "date"


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw) if _FULL_DATE.fullmatch(raw) else _wrong_date()
    except ValueError:
        return _wrong_date()


def _wrong_date():
    raise Invalid("Date has wrong format. Use YYYY-MM-DD.")


class Params:
    """A set of parameters with defaults, and a check across them."""

    def __init__(self, *params: Param, check: Callable[[dict], None] | None = None) -> None:
        self.params = params
        self.check = check

    def parse(self, query: Mapping[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for param in self.params:
            raw = query.get(param.name)
            if raw is None or (blank(raw) and not param.required):
                if param.required:
                    errors[param.name] = ["This field is required."]
                elif param.default is not None:
                    values[param.name] = param.default
                continue
            try:
                values[param.name] = param.parse(raw)
            except Invalid as exc:
                errors[param.name] = [str(exc)]
        if not errors and self.check is not None:
            self.check(values)
        if errors:
            raise ValidationError(errors)
        return values

    def schema(self) -> list[OpenApiParameter]:
        return [param.openapi() for param in self.params]


# --- search, movers, history ------------------------------------------------------------

SEARCH_MAX_LENGTH = 100
SEARCH = Params(
    Param("q", _text(SEARCH_MAX_LENGTH), "Ticker or company name (typos tolerated)",
          required=True, min_length=1, max_length=SEARCH_MAX_LENGTH,
          pattern=r"\S"),  # not blank (white space is trimmed)
    Param("limit", _whole(1, 50), "Most hits to answer", OpenApiTypes.INT, default=10,
          minimum=1, maximum=50),
)  # fmt: skip

MOVER_KINDS = ("gainers", "losers", "active")
MOVERS = Params(
    Param("kind", _choice(MOVER_KINDS), "Top gainers, losers, or most active by volume",
          default="gainers", enum=MOVER_KINDS),
    Param("limit", _whole(1, 100), "How many", OpenApiTypes.INT, default=10, minimum=1,
          maximum=100),
)  # fmt: skip

INTERVALS = ("1d", "1wk", "1mo")
PERIODS = ("1m", "3m", "6m", "1y", "5y", "max")


def _history_check(values: dict) -> None:
    # Any combination of bounds is a window (stocks.history.window); none is the last year.
    if not values.keys() & {"period", "start", "end"}:
        values["period"] = "1y"


HISTORY = Params(
    Param("interval", _choice(INTERVALS), "Bar size", default="1d", enum=INTERVALS),
    Param("period", _choice(PERIODS),
          "Span ending at end, else today (default 1y when no start or end is given)",
          enum=PERIODS),
    Param("start", _date, "First day (YYYY-MM-DD); with period, the later start holds",
          OpenApiTypes.DATE),
    Param("end", _date, "Last day (YYYY-MM-DD); after start, or no bars", OpenApiTypes.DATE),
    check=_history_check,
)  # fmt: skip


# --- the screen, from its registry --------------------------------------------------------


def _words(words) -> dict[str, Any]:
    """A string that is one of ``words`` in any case, white space around it allowed."""
    spelled = (
        "".join(f"[{c.upper()}{c}]" if c.isalpha() else re.escape(c) for c in word)
        for word in sorted(words)
    )
    return {
        "type": "string", "maxLength": WORDS_MAX_LENGTH,
        "pattern": rf"^\s*(?:{'|'.join(spelled)})\s*$",
    }  # fmt: skip


def _list_of(items, *, escape: bool = True, max_length: int) -> dict[str, Any]:
    """
    A comma-separated list of ``items`` (names, or patterns with ``escape=False``), empty
    items and white space around them allowed.
    """
    one = "|".join(re.escape(item) if escape else item for item in items)
    return {
        "type": "string", "maxLength": max_length,
        "pattern": rf"^\s*(?:{one})?\s*(?:,\s*(?:{one})?\s*)*$",
    }  # fmt: skip


def _number_schema(flt: registry.Filter) -> dict[str, Any]:
    """A filter's number: below 10^18 in absolute value, within its own scale (RSI 0-100)."""
    # (OpenAPI 3.0: an exclusive bound is the bound plus a flag.)
    schema = {"type": "number", "minimum": -_LARGEST, "exclusiveMinimum": True,
              "maximum": _LARGEST, "exclusiveMaximum": True}  # fmt: skip
    if flt.minimum is not None:
        schema["minimum"] = float(flt.minimum)
        del schema["exclusiveMinimum"]
    if flt.maximum is not None:
        schema["maximum"] = float(flt.maximum)
        del schema["exclusiveMaximum"]
    return schema


# A number written as text in a POST body: plain decimal notation, its bounds as digits.
_WHOLE = registry.NUMBER_MAX_WHOLE_DIGITS
_NUMBER_TEXT = {
    None: rf"^\s*[-+]?0*(?:[0-9]{{1,{_WHOLE}}}(?:\.[0-9]*)?|\.[0-9]+)\s*$",
    (0, 100): r"^\s*(?:\+?0*(?:100(?:\.0*)?|[0-9]{1,2}(?:\.[0-9]*)?|\.[0-9]+)"
    r"|-0*(?:0(?:\.0*)?|\.0+))\s*$",
}


def _number_text(flt: registry.Filter) -> str:
    scale = None if flt.minimum is None else (flt.minimum, flt.maximum)
    return _NUMBER_TEXT[scale]  # a new scale states its own pattern here


_TRUE_WORDS = frozenset(w for w in TRUE_WORDS if not w.isdigit())  # "1" is 1 % for near


def _filter_schema(flt: registry.Filter) -> tuple[dict[str, Any], str]:
    """A filter's value in a query string: its schema and description."""
    if flt.op in _DIGITS:
        description = (
            f"{flt.description}. Less than 10^{registry.NUMBER_MAX_WHOLE_DIGITS} in absolute"
            " value; read as the column holds it (prices to 4 decimals and volumes to whole"
            " numbers, rounded inward; ratios as the nearest double)."
        )
        if flt.op is Op.PRICE_NEAR:  # a word for 5: "1" is 1 percent here
            description = (
                f"{flt.description}; read to {registry.NEAR_DECIMAL_PLACES} decimal places."
            )
            return {"anyOf": [_number_schema(flt), _words(_TRUE_WORDS)]}, description
        return _number_schema(flt), description
    if flt.op is Op.PRICE_ABOVE:
        schema = {"anyOf": [{"type": "boolean"}, _words(TRUE_WORDS | FALSE_WORDS)]}
        return schema, f"{flt.description} (true/false, 1/0, yes/no, on/off, any case)"
    if flt.op is Op.IN:
        return _list_of(
            [TICKER_INPUT_PATTERN], escape=False, max_length=registry.TICKERS_MAX_LENGTH
        ), flt.description
    from ..models import Stock

    column = registry.BY_NAME[flt.field].column
    schema = {"type": "string", "maxLength": Stock._meta.get_field(column).max_length,
              "pattern": "^[^\\u0000]*$"}  # fmt: skip
    return schema, flt.description


def _filter_parameter(flt: registry.Filter) -> OpenApiParameter:
    schema, description = _filter_schema(flt)
    return OpenApiParameter(flt.param, or_blank(schema), description=description)


def screen_parameters() -> list[OpenApiParameter]:
    orderings = [o for name in registry.ORDERING_FIELDS for o in (name, f"-{name}")]
    return [
        *(_filter_parameter(flt) for flt in FILTERS.values()),
        OpenApiParameter(
            "ordering",
            or_blank({"type": "string", "enum": orderings, "default": registry.DEFAULT_ORDERING}),
            description="Sort field, '-' for descending; nulls last, ties break on ticker",
        ),
        OpenApiParameter(
            "fields",
            or_blank(_list_of(registry.LIST_FIELDS, max_length=FIELDS_MAX_LENGTH)),
            description="Comma-separated sparse field set, from: "
            + ", ".join(registry.LIST_FIELDS),
        ),
        OpenApiParameter(
            "page",
            or_blank({"type": "integer", "minimum": 1}),
            description="Page number (page mode)",
        ),
        OpenApiParameter(
            "page_size",
            or_blank({"type": "integer", "minimum": 1, "default": settings.API_PAGE_SIZE}),
            description=f"Rows per page; larger values are served at {settings.API_MAX_PAGE_SIZE}.",
        ),
        OpenApiParameter(
            CURSOR_PARAM,
            # Blank starts cursor paging (the one blank value that is not the default).
            or_blank({"type": "string", "maxLength": MAX_CURSOR_LENGTH, "pattern": CURSOR_PATTERN}),
            description="Keyset cursor for deep paging: send it empty to start, then follow "
            "next/previous. Signed, and tied to its ordering: any other is a 404 "
            f"invalid_cursor; {settings.CURSOR_MAX_AGE_SECONDS} s after the data it was made on "
            "was replaced it is a 404 cursor_expired (start again).",
        ),
    ]


# --- the screen as a JSON body (POST /api/stocks/screen/) ------------------------------------


class InvalidBody(exceptions.ValidationError):
    pass


_PAGE_PARAMS = frozenset({"page", "page_size"})
# A page number or size written as text: a positive whole number (leading zeros allowed).
_POSITIVE_TEXT = r"^0*[1-9][0-9]*$"
_LIST = "Must be a string or a list of strings."


@dataclass(frozen=True)
class _BodyMember:
    """
    A POST body member, declared once: its schema (the query parameter's, plus the JSON
    forms a body adds), the JSON types that schema admits, and what a string must match
    (its string forms' patterns, as the server reads them; None: the parser checks it).
    """

    schema: dict[str, Any]
    types: tuple[type, ...]
    text: re.Pattern | None = None
    message: str = "Must be a string."

    @classmethod
    def of(cls, forms: list[dict], types: tuple[type, ...], message: str) -> _BodyMember:
        """A member that is any of ``forms``: a string must match one of their patterns."""
        patterns = [f["pattern"] for f in forms if f.get("type") == "string" and "pattern" in f]
        text = server_regex("|".join(f"(?:{p})" for p in patterns))
        return cls({"anyOf": forms}, types, text, message)


def _body_member(parameter: OpenApiParameter) -> _BodyMember:
    name, schema = parameter.name, parameter.type
    flt = FILTERS.get(name)
    if name in ("tickers", "fields"):
        if name == "tickers":
            items = {"type": "string", "pattern": f"^{TICKER_INPUT_PATTERN}$"}
            most = registry.MAX_TICKERS
        else:
            items = {"type": "string", "enum": list(registry.LIST_FIELDS)}
            most = len(registry.LIST_FIELDS)
        array = {"type": "array", "items": items, "maxItems": most}
        return _BodyMember({"anyOf": [schema, array]}, (str, list), message=_LIST)
    if flt is not None and flt.op in _DIGITS:  # a number, its text, or blank
        forms = [_number_schema(flt), {"type": "string", "pattern": _number_text(flt)}, BLANK]
        types: tuple[type, ...] = (int, Decimal, str)
        if flt.op is Op.PRICE_NEAR:  # also true, or a word for it
            forms += [_words(_TRUE_WORDS), {"type": "boolean", "enum": [True]}]
            types = (bool, *types)
        return _BodyMember.of(forms, types, "Must be a number.")
    if flt is not None and flt.op is Op.PRICE_ABOVE:
        return _BodyMember(schema, (bool, str), message="Must be a boolean.")
    if name in _PAGE_PARAMS:
        forms = [*schema["anyOf"], {"type": "string", "pattern": _POSITIVE_TEXT}]
        return _BodyMember.of(forms, (int, str), "Must be a positive whole number.")
    return _BodyMember(schema, (str,))


@functools.cache
def _body_members() -> dict[str, _BodyMember]:
    """Each member's check (built once: the checks depend on no setting)."""
    return {parameter.name: _body_member(parameter) for parameter in screen_parameters()}


# Any other member: a scalar, ignored as an unknown query parameter is.
_ANY_SCALAR = _BodyMember(
    {}, (bool, int, Decimal, str), message="Must be a string, a number or a boolean."
)


def _body_text(name: str, value: Any) -> str:
    member = _body_members().get(name, _ANY_SCALAR)
    if type(value) not in member.types:  # exactly: True is no number here
        raise InvalidBody({name: [member.message]})
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):  # (BoundedJSONParser: a fraction or exponent as a
        return str(value)  # Decimal, as written; 1E-99999999 stays short)
    if isinstance(value, list):
        return _body_list(name, value)
    if member.text and not member.text.fullmatch(value):
        raise InvalidBody({name: [member.message]})
    return value


def _body_list(name: str, items: list) -> str:
    if name == "tickers":
        if len(items) > registry.MAX_TICKERS:
            raise InvalidBody({name: [f"At most {registry.MAX_TICKERS} tickers."]})
        if not all(isinstance(item, str) and TICKER_INPUT.fullmatch(item) for item in items):
            raise InvalidBody({name: ["Each item must be a ticker symbol."]})
        return TickerList(",".join(items))
    if len(items) > len(registry.LIST_FIELDS) or not all(
        isinstance(item, str) and item in registry.LIST_FIELDS for item in items
    ):
        raise InvalidBody({name: [f"Each item must be one of: {', '.join(registry.LIST_FIELDS)}."]})
    return ",".join(items)


def body_params(data) -> QueryDict:
    """
    A JSON object of screen parameters as the query string would carry them: strings as
    they are, numbers as written (``BoundedJSONParser`` reads them as Decimals), booleans
    as true/false, and ``tickers`` and ``fields`` lists joined by commas. ``null`` is an
    absent parameter. A member of a type its parameter does not take (``screen_body``) is a
    400 naming it; unknown members that are scalars are ignored.
    """
    if not isinstance(data, dict):
        raise InvalidBody({"non_field_errors": ["Send the screen's parameters as a JSON object."]})
    params = QueryDict(mutable=True)
    for name, value in data.items():
        if value is not None:
            params[str(name)] = _body_text(str(name), value)
    return params


_SCALAR = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}], "nullable": True}


def screen_body():
    """
    The POST body's schema: the GET parameters as the members of one object, each also
    ``null`` (absent), numbers also as text and lists also as JSON arrays; any other member
    a string, number, boolean or null, ignored as an unknown query parameter is.
    """
    properties = {
        p.name: {**_body_member(p).schema, "nullable": True, "description": p.description}
        for p in screen_parameters()
    }
    return {
        "application/json": {
            "type": "object", "properties": properties, "additionalProperties": _SCALAR,
        }
    }  # fmt: skip
