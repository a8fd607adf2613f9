"""
Paging of screen results, parsed from the request before any work is done.

Contract: every list answers ``{"count", "next", "previous", "results"}``.

- Page mode (default): ``?page=N&page_size=M``. ``page_size`` defaults to 50 and is
  capped at ``API_MAX_PAGE_SIZE`` (500): a larger value is served at the cap. A
  non-numeric page or size is a 400; a page past the end is a 404.
- Cursor mode, for deep paging: ``?cursor=`` (empty) starts it; follow ``next`` and
  ``previous``. The cursor is a keyset position (value of the ordering field, ticker),
  so each page costs the same however deep it is, and rows inserted or removed while
  paging do not shift pages. A cursor only works with the ordering it was made for.
  It is tied to the data version it was made on: after a change it goes on from its
  position in the new data (rows whose value moved across the position may be seen
  twice or not at all, as in any keyset paging) for ``CURSOR_MAX_AGE_SECONDS`` after
  its version was replaced; then it is a 404 ``cursor_expired`` (start again with
  ``cursor=``). A cursor that names no position we made is a 404 ``invalid_cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core import signing
from rest_framework import exceptions

from .. import data_version
from ..errors import InvalidParameter
from .fields import BY_NAME, Kind, SortKey
from .params import blank

CURSOR_PARAM = "cursor"
# Ours stay under 1.5 KB (a 200-character non-ASCII name, escaped, is the longest); a
# longer one is forged. Deep JSON nesting within the cap would exhaust the parser's
# recursion limit: that is caught below.
MAX_CURSOR_LENGTH = 2048
# How every cursor we make is written: URL-safe base64 of its JSON, ":", and the base64 of
# its HMAC-SHA256 (43 characters).
CURSOR_PATTERN = r"^[A-Za-z0-9_\-]*:[A-Za-z0-9_\-]{43}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_INT64 = 2**63 - 1


def _positive_int(params, name: str, default: int) -> int:
    raw = params.get(name)
    if blank(raw):
        return default
    # isdigit() alone admits "²" and 5000-digit strings, both of which int() refuses.
    digits = raw.lstrip("0") if raw.isascii() and raw.isdigit() else ""
    if not digits:
        raise InvalidParameter(name, "Must be a positive whole number.")
    return int(digits) if len(digits) <= 18 else 10**18  # far past any page or cap


class CursorNotFound(exceptions.NotFound):
    """
    404 ``invalid_cursor``: a cursor written as ours are, that names no position we made
    (forged, altered, signed with a key since rotated away, or made for another ordering).
    Like a page past the end, and like DRF's own cursor paging, it is a 404; a cursor that
    is not even written as ours are (``CURSOR_PATTERN``) is a 400.
    """

    default_code = "invalid_cursor"

    def __init__(self, message: str = "Invalid cursor.") -> None:
        super().__init__(f"{message} Start again from the first page (cursor=).")
        self.error_details = {CURSOR_PARAM: [message]}


def _invalid_cursor() -> CursorNotFound:
    return CursorNotFound()


def _cursor_value(kind: Kind, raw: Any) -> Any:
    """The ordering value a cursor carries, as the column holds it, or a 404."""
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > 400:
        raise _invalid_cursor()
    if kind is Kind.STRING:
        if "\x00" in raw:
            raise _invalid_cursor()
        try:
            raw.encode("utf-8")  # a lone surrogate cannot be bound on any backend
        except UnicodeEncodeError:
            raise _invalid_cursor() from None
        return raw
    if kind is Kind.INTEGER:
        text = raw.removeprefix("-")
        if not (text.isascii() and text.isdigit()) or len(text) > 19:
            raise _invalid_cursor()
        value = int(raw)
        if abs(value) > _INT64:
            raise _invalid_cursor()
        return value
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _invalid_cursor() from None
    # A stored value has at most 18 digits: a huge exponent is forged (and would cost
    # time and memory in every backend's arithmetic).
    if not value.is_finite() or abs(value.adjusted()) > 20:
        raise _invalid_cursor()
    if kind is Kind.FLOAT:
        number = float(value)
        if not math.isfinite(number):
            raise _invalid_cursor()
        return number
    return value


# Cursors are signed (HMAC-SHA256 with SECRET_KEY, or one of SECRET_KEY_FALLBACKS): a
# forged or altered one is a 404 before its contents are read. Rotating SECRET_KEY without
# a fallback ends the cursors in flight (a 404; clients start again from the first page).
CURSOR_SALT = "stocks.screen.cursor"


def _signer() -> signing.Signer:
    return signing.Signer(salt=CURSOR_SALT, algorithm="sha256")  # the settings of now


def seal(payload: Any) -> str:
    """A cursor token: the payload as URL-safe base64, and its signature."""
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return _signer().sign(base64.urlsafe_b64encode(raw).decode().rstrip("="))


@dataclass(frozen=True)
class Position:
    """
    Where a cursor points: (ordering value, ticker), which way it reads, and the data
    version it was made on (None: the cache could not tell).
    """

    value: Any
    ticker: str
    backwards: bool
    ordering: str
    version: int | None

    def encode(self) -> str:
        return seal(
            {
                "v": None if self.value is None else str(self.value),
                "t": self.ticker,
                "b": self.backwards,
                "o": self.ordering,
                "d": self.version,
            }
        )

    def check_age(self, version: int | None) -> None:
        """
        CursorExpired once the data it was made on has been replaced for longer than
        CURSOR_MAX_AGE_SECONDS (or cannot be placed: a version of another cache).
        """
        if version is None or self.version is None or self.version == version:
            return  # current, or the cache cannot tell: the keyset goes on
        if not data_version.shared():
            return  # each process counts its own versions: the age cannot be told
        if self.version > version or not data_version.ended_recently(self.version):
            raise CursorExpired()

    @classmethod
    def decode(cls, token: str, sort: SortKey) -> Position:
        if len(token) > MAX_CURSOR_LENGTH or not _CURSOR.fullmatch(token):
            raise InvalidParameter(CURSOR_PARAM, "Invalid cursor.")
        try:
            body = _signer().unsign(token)
        except signing.BadSignature:
            raise _invalid_cursor() from None
        # Signed by us, and still checked as if it were not: a leaked SECRET_KEY must not
        # turn into unbounded work either.
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            payload = json.loads(raw)
            # No "d": a cursor made before cursors carried their version (it goes on).
            value, ticker, version = payload["v"], payload["t"], payload.get("d")
            backwards, ordering = payload["b"], str(payload["o"])
        except (
            binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError
        ):  # fmt: skip
            raise _invalid_cursor() from None
        if ordering != str(sort):
            raise CursorNotFound("This cursor was made for another ordering.")
        if not isinstance(backwards, bool):
            raise _invalid_cursor()
        if version is not None and (
            type(version) is not int or not 0 <= version <= _INT64  # bool is not a version
        ):
            raise _invalid_cursor()
        if not isinstance(ticker, str) or not ticker or len(ticker) > 16:
            raise _invalid_cursor()
        ticker = _cursor_value(Kind.STRING, ticker)
        kind = BY_NAME[sort.field].kind
        value = None if sort.field == "ticker" else _cursor_value(kind, value)
        return cls(value, ticker, backwards, ordering, version)


@dataclass(frozen=True)
class Paging:
    """Which slice of the ordered result a request asks for."""

    size: int
    page: int = 1  # page mode
    cursor_mode: bool = False
    position: Position | None = None  # cursor mode; None is the first page

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def cache_params(self) -> dict[str, Any]:
        if self.cursor_mode:
            token = self.position.encode() if self.position else ""
            return {"page_size": self.size, CURSOR_PARAM: token}
        return {"page_size": self.size, "page": self.page}


class PlanLimit(exceptions.PermissionDenied):
    """403: the request is valid, but more than the caller's plan includes."""

    default_code = "plan_limit"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.error_details = {parameter: [message]}


class CursorExpired(exceptions.NotFound):
    """404 ``cursor_expired``: the data the cursor was made on was replaced too long ago."""

    default_code = "cursor_expired"
    MESSAGE = (
        "The data this cursor was made on was replaced too long ago; start again from the "
        "first page (cursor=)."
    )

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)
        self.error_details = {CURSOR_PARAM: [self.MESSAGE]}


def page_size(params, cap: int | None = None) -> int:
    default = settings.API_PAGE_SIZE
    cap = settings.API_MAX_PAGE_SIZE if cap is None else min(cap, settings.API_MAX_PAGE_SIZE)
    return min(_positive_int(params, "page_size", default), cap)


def parse_paging(params, sort: SortKey, plan=None) -> Paging:
    """
    Page number or cursor, validated; every malformed value is a 400 naming its parameter
    (a cursor that names no position of ours is a 404: ``CursorNotFound``). ``plan``
    (the caller's ``Limits``) caps the page size as API_MAX_PAGE_SIZE does, and may refuse
    deep pages and cursors (403 ``plan_limit``).
    """
    size = page_size(params, plan.max_page_size if plan else None)
    page = _positive_int(params, "page", 1)  # checked in cursor mode too, where it is unused
    if CURSOR_PARAM in params:
        if plan is not None and not plan.cursor_paging:
            raise PlanLimit(CURSOR_PARAM, f"The {plan.name} plan does not include cursor paging.")
        token = params.get(CURSOR_PARAM, "")
        position = None if blank(token) else Position.decode(token, sort)
        return Paging(size=size, cursor_mode=True, position=position)
    if plan is not None and plan.max_page is not None and page > plan.max_page:
        raise PlanLimit(
            "page",
            f"The {plan.name} plan pages at most {plan.max_page} pages deep; narrow the screen "
            "with filters.",
        )
    return Paging(size=size, page=page)
