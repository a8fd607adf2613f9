"""
Pagination of stock lists.

Contract: every list answers ``{"count", "next", "previous", "results"}``.

- Page mode (default): ``?page=N&page_size=M``. ``page_size`` defaults to 50 and is
  capped at ``API_MAX_PAGE_SIZE`` (500): a larger value is served at the cap. A
  non-numeric page or size is a 400; a page past the end is a 404.
- Cursor mode, for deep paging: ``?cursor=`` (empty) starts it; follow ``next`` and
  ``previous``. The cursor is a keyset position (value of the ordering field, ticker),
  so each page costs the same however deep it is, and rows inserted or removed while
  paging do not shift pages. A cursor only works with the ordering it was made for.

Querysets must be ordered with ticker as the final tiebreaker (``StockQuerySet.ordered``);
an unordered queryset is refused rather than paginated unstably.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from django.conf import settings
from django.core.paginator import InvalidPage
from django.db.models import F, OrderBy, Q, QuerySet
from rest_framework import exceptions
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from ..errors import InvalidParameter

CURSOR_PARAM = "cursor"
MAX_CURSOR_LENGTH = 2048


def _positive_int(request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    # isdigit() alone admits "²" and 5000-digit strings, both of which int() refuses.
    digits = raw.lstrip("0") if raw.isascii() and raw.isdigit() else ""
    if not digits:
        raise InvalidParameter(name, "Must be a positive whole number.")
    return int(digits) if len(digits) <= 18 else 10**18  # far past any page or cap


def _page_size(request) -> int:
    return min(
        _positive_int(request, "page_size", settings.REST_FRAMEWORK["PAGE_SIZE"]),
        settings.API_MAX_PAGE_SIZE,
    )


class _IdsFirst:
    """
    What Django's Paginator sees instead of the queryset: ``count()`` as usual, and a
    slice fetched ids first (``StockQuerySet.fetch``).
    """

    def __init__(self, queryset: QuerySet) -> None:
        self.queryset = queryset
        self.ordered = queryset.ordered

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, page: slice) -> list:
        return self.queryset.fetch(page.start, page.stop)


class _PageNumber(PageNumberPagination):
    page_size_query_param = "page_size"  # documents it in the schema; get_page_size parses

    def get_page_size(self, request) -> int:
        return _page_size(request)

    def paginate_queryset(self, queryset, request, view=None):
        _positive_int(request, self.page_query_param, 1)
        try:
            return super().paginate_queryset(_IdsFirst(queryset), request, view)
        except exceptions.NotFound:
            raise exceptions.NotFound("That page is past the end of the results.") from None


class _Position:
    """Where a cursor points: (ordering field value, ticker), and which way it reads."""

    def __init__(self, value: Any, ticker: str, backwards: bool, ordering: str) -> None:
        self.value, self.ticker, self.backwards, self.ordering = value, ticker, backwards, ordering

    def encode(self) -> str:
        payload = {
            "v": None if self.value is None else str(self.value),
            "t": self.ticker,
            "b": self.backwards,
            "o": self.ordering,
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> _Position:
        # Ours stay under 1.5 KB (a 200-character non-ASCII name, escaped, is the longest);
        # a longer one is forged. Deep JSON nesting within the cap would exhaust the
        # parser's recursion limit: that is caught below.
        if len(token) > MAX_CURSOR_LENGTH:
            raise InvalidParameter(CURSOR_PARAM, "Invalid cursor.")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
            return cls(payload["v"], str(payload["t"]), bool(payload["b"]), str(payload["o"]))
        except (
            binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError
        ):  # fmt: skip
            raise InvalidParameter(CURSOR_PARAM, "Invalid cursor.") from None


def _sort_keys(queryset: QuerySet) -> tuple[str, bool]:
    """(primary field, descending) of a queryset ordered by StockQuerySet.ordered."""
    order_by = queryset.query.order_by
    if not order_by:
        raise TypeError("cursor pagination needs an ordered queryset (StockQuerySet.ordered)")
    first = order_by[0]
    if not isinstance(first, OrderBy) or not isinstance(first.expression, F):
        raise TypeError("cursor pagination needs F() ordering with nulls last")
    return first.expression.name, first.descending


def _after(field: str, descending: bool, value: Any, ticker: str) -> Q:
    """Rows after (value, ticker) in order ``field`` (nulls last), ticker tiebreak."""
    beyond = "lt" if descending else "gt"
    if field == "ticker":
        return Q(**{f"ticker__{beyond}": ticker})
    if value is None:
        return Q(**{f"{field}__isnull": True, f"ticker__{beyond}": ticker})
    return (
        Q(**{f"{field}__{beyond}": value})
        | Q(**{field: value, f"ticker__{beyond}": ticker})
        | Q(**{f"{field}__isnull": True})
    )


def _before(field: str, descending: bool, value: Any, ticker: str) -> Q:
    """Rows before (value, ticker) in the same order."""
    behind = "gt" if descending else "lt"
    if field == "ticker":
        return Q(**{f"ticker__{behind}": ticker})
    if value is None:
        return Q(**{f"{field}__isnull": False}) | Q(
            **{f"{field}__isnull": True, f"ticker__{behind}": ticker}
        )
    return Q(**{f"{field}__{behind}": value}) | Q(**{field: value, f"ticker__{behind}": ticker})


def _reversed(field: str, descending: bool) -> list[OrderBy]:
    if field == "ticker":
        return [F("ticker").asc() if descending else F("ticker").desc()]
    primary = F(field).asc(nulls_first=True) if descending else F(field).desc(nulls_first=True)
    return [primary, F("ticker").asc() if descending else F("ticker").desc()]


class _Cursor(BasePagination):
    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = _page_size(request)
        field, descending = _sort_keys(queryset)
        self.ordering = f"-{field}" if descending else field
        loaded, deferring = queryset.query.deferred_loading
        if not deferring and loaded and field not in loaded:
            # A sparse field set may omit the ordering column the cursor is built from;
            # read it with the page rather than lazily, one query per link.
            queryset = queryset.only(*loaded, field)
        self.count = queryset.count()
        token = request.query_params.get(CURSOR_PARAM, "")
        position = _Position.decode(token) if token else None
        if position and position.ordering != self.ordering:
            raise InvalidParameter(CURSOR_PARAM, "This cursor was made for another ordering.")
        if position and position.value is not None and field != "ticker":
            try:
                position.value = queryset.model._meta.get_field(field).to_python(position.value)
            except Exception:  # noqa: BLE001 - any conversion failure is a forged cursor
                raise InvalidParameter(CURSOR_PARAM, "Invalid cursor.") from None
            # No stored value is NaN or infinite (and MySQL cannot even bind one).
            if isinstance(position.value, float) and not math.isfinite(position.value):
                raise InvalidParameter(CURSOR_PARAM, "Invalid cursor.")

        backwards = bool(position and position.backwards)
        if position is None:
            page_qs = queryset
        elif backwards:
            page_qs = queryset.filter(
                _before(field, descending, position.value, position.ticker)
            ).order_by(*_reversed(field, descending))
        else:
            page_qs = queryset.filter(_after(field, descending, position.value, position.ticker))
        rows = page_qs.fetch(0, self.page_size + 1)
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            rows.reverse()

        def at(row, back: bool) -> str:
            value = None if field == "ticker" else getattr(row, field)
            return _Position(value, row.ticker, back, self.ordering).encode()

        has_next = more if not backwards else True
        has_previous = (more if backwards else position is not None) and bool(rows)
        self.next_token = at(rows[-1], False) if rows and has_next else None
        self.previous_token = at(rows[0], True) if has_previous else None
        return rows

    def _link(self, token: str | None) -> str | None:
        if token is None:
            return None
        url = self.request.build_absolute_uri()
        url = remove_query_param(url, "page")
        return replace_query_param(url, CURSOR_PARAM, token)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.count,
                "next": self._link(self.next_token),
                "previous": self._link(self.previous_token),
                "results": data,
            }
        )


class StockPagination(BasePagination):
    """Page-number pagination, or keyset cursors when ``cursor`` is in the query."""

    def paginate_queryset(self, queryset, request, view=None):
        if not queryset.ordered:
            raise TypeError("refusing to paginate an unordered queryset")
        cursor_mode = CURSOR_PARAM in request.query_params
        self.delegate = _Cursor() if cursor_mode else _PageNumber()
        try:
            return self.delegate.paginate_queryset(queryset, request, view)
        except InvalidPage:
            raise exceptions.NotFound("That page is past the end of the results.") from None

    def get_paginated_response(self, data):
        return self.delegate.get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        return _PageNumber().get_paginated_response_schema(schema)

    def get_schema_operation_parameters(self, view):
        numbered = _PageNumber().get_schema_operation_parameters(view)
        for parameter in numbered:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == "page_size":
                parameter["schema"]["default"] = settings.REST_FRAMEWORK["PAGE_SIZE"]
                parameter["description"] = (
                    f"Rows per page; larger values are served at {settings.API_MAX_PAGE_SIZE}."
                )
        return [
            *numbered,
            {
                "name": CURSOR_PARAM,
                "required": False,
                "in": "query",
                "description": "Keyset cursor for deep paging; send it empty to start.",
                "schema": {"type": "string"},
            },
        ]
