"""
Bodies as bytes: orjson over plain values, and the links of a paginated list.

Hot endpoints build their bodies from value rows (``stocks.screen.rows``) and hand the
bytes to the response cache (``stocks.caching``); DRF's renderer and serializers are
skipped on that path. Errors still go through DRF's exception handler (``stocks.errors``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson

from ..screen.paging import CURSOR_PARAM, Paging, Position
from ..screen.params import ScreenQuery


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def list_link(base: str, query: ScreenQuery, paging: Paging, target: int | Position | None):
    """
    The URL of another page of this screen, built from the parsed parameters (not the
    raw query string), so the body depends only on what the cache key holds: every
    caller asking for the same screen gets the same links.
    """
    if target is None:
        return None
    params = {name: _query_value(value) for name, value in query.criteria}
    params["ordering"] = str(query.ordering)
    if query.fields:
        params["fields"] = ",".join(query.fields)
    params["page_size"] = str(paging.size)
    if isinstance(target, Position):
        params[CURSOR_PARAM] = target.encode()
    elif target > 1:
        params["page"] = str(target)
    return f"{base}?{urlencode(params)}"
