"""
Query parameters of the endpoints other than the screen, and the OpenAPI description of
every parameter, the screen's derived from its registry (``stocks.screen.fields``).

Each ``Params`` is declared once and compiled at import: ``parse`` validates a request's
values (every bad one named in one 400), ``schema`` documents them with their real bounds.
"""

from __future__ import annotations

import math
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
from ..screen.paging import CURSOR_PARAM
from ..screen.params import FALSE_WORDS, MAX_TICKERS_LENGTH, TRUE_WORDS, blank, trimmed

_DIGITS = {Op.GTE, Op.LTE, Op.PRICE_NEAR}
# An optional parameter sent empty or blank (``kind=``, a form's untouched field) is the same
# as not sent: the schema says so beside each value's own schema.
BLANK = {"type": "string", "pattern": r"^\s*$"}


def or_blank(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or an empty or blank value (which means the default)."""
    return {"anyOf": [schema, BLANK]}


# No number a client sends has more whole digits than this allows (the columns' bound).
_LARGEST = 10 ** (registry.NUMBER_MAX_DIGITS - registry.NUMBER_DECIMAL_PLACES)


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
    return {"type": "string", "pattern": rf"^\s*(?:{'|'.join(spelled)})\s*$"}


def _list_of(names) -> dict[str, Any]:
    """A comma-separated list of ``names`` (empty items and white space around them allowed)."""
    one = "|".join(re.escape(name) for name in names)
    return {"type": "string", "pattern": rf"^\s*(?:{one})?\s*(?:,\s*(?:{one})?\s*)*$"}


def _filter_parameter(flt: registry.Filter) -> OpenApiParameter:
    schema: dict[str, Any]
    if flt.op in _DIGITS:
        # The digit limits as bounds; a value's own scale (RSI 0-100) where it has one.
        # (OpenAPI 3.0: an exclusive bound is the bound plus a flag.)
        schema = {"type": "number", "minimum": -_LARGEST, "exclusiveMinimum": True,
                  "maximum": _LARGEST, "exclusiveMaximum": True}  # fmt: skip
        if flt.minimum is not None:
            schema["minimum"] = float(flt.minimum)
            del schema["exclusiveMinimum"]
        if flt.maximum is not None:
            schema["maximum"] = float(flt.maximum)
            del schema["exclusiveMaximum"]
        whole = registry.NUMBER_MAX_DIGITS - registry.NUMBER_DECIMAL_PLACES
        description = (
            f"{flt.description}. At most {whole} digits before the point"
            f" and {registry.NUMBER_DECIMAL_PLACES} after."
        )
        if flt.op is Op.PRICE_NEAR:  # a word for 5: "1" is 1 percent here
            schema = {"anyOf": [schema, _words(w for w in TRUE_WORDS if not w.isdigit())]}
    elif flt.op is Op.PRICE_ABOVE:
        schema = {"anyOf": [{"type": "boolean"}, _words(TRUE_WORDS | FALSE_WORDS)]}
        description = f"{flt.description} (true/false, 1/0, yes/no, on/off, any case)"
    elif flt.op is Op.IN:
        schema = {"type": "string", "maxLength": MAX_TICKERS_LENGTH}
        description = flt.description
    else:
        from ..models import Stock

        column = registry.BY_NAME[flt.field].column
        schema = {"type": "string", "maxLength": Stock._meta.get_field(column).max_length}
        description = flt.description
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
            or_blank(_list_of(registry.LIST_FIELDS)),
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
            OpenApiTypes.STR,
            description="Keyset cursor for deep paging: send it empty to start, then follow "
            "next/previous. Signed, and tied to its ordering; "
            f"{settings.CURSOR_MAX_AGE_SECONDS} s after the data it was made on was replaced "
            "it is a 400 cursor_expired (start again).",
        ),
    ]


# --- the screen as a JSON body (POST /api/stocks/screen/) ------------------------------------


class InvalidBody(exceptions.ValidationError):
    pass


_BODY_VALUE = "Must be a string, a number or a boolean."
_LIST_PARAMS = frozenset({"tickers", "fields"})  # the parameters that are lists


def body_params(data) -> QueryDict:
    """
    A JSON object of screen parameters as the query string would carry them: strings as
    they are, numbers in plain decimal notation (a whole float such as 5.0 as 5), booleans
    as true/false, and for ``tickers`` and ``fields`` a list of strings joined by commas.
    ``null`` is an absent parameter. Anything else is a 400 naming the parameter.
    """
    if not isinstance(data, dict):
        raise InvalidBody({"non_field_errors": ["Send the screen's parameters as a JSON object."]})
    params = QueryDict(mutable=True)
    for name, value in data.items():
        name = str(name)
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidBody({name: ["Must be a finite number."]})
            text = str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
        elif isinstance(value, str):
            text = value
        elif name in _LIST_PARAMS and isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise InvalidBody({name: ["Must be a list of strings."]})
            text = ",".join(value)
        else:
            raise InvalidBody({name: [_BODY_VALUE]})
        params[name] = text
    return params


_SCALAR = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}], "nullable": True}


def screen_body():
    """
    The POST body's schema: the GET parameters as the properties of one object, each also
    ``null`` (absent); any other member a string, number, boolean or null, ignored as an
    unknown query parameter is.
    """
    properties = {}
    for parameter in screen_parameters():
        schema = parameter.type if isinstance(parameter.type, dict) else {"type": "string"}
        if parameter.name in _LIST_PARAMS:  # a list of strings, or their comma-joined text
            schema = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
        properties[parameter.name] = {
            **schema, "nullable": True, "description": parameter.description,
        }  # fmt: skip
    return {
        "application/json": {
            "type": "object", "properties": properties, "additionalProperties": _SCALAR,
        }
    }  # fmt: skip
