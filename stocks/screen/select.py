"""
Run a parsed screen: on the engine's snapshot when one of the current data version is at
hand, else on the database. Both paths answer the same ``Result``; ``tests/screen``
proves they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connections
from rest_framework.exceptions import NotFound

from . import engine, snapshots, sql
from .fields import BY_NAME, columns_for
from .paging import Paging, Position
from .params import ScreenQuery
from .rows import render_values

PAST_THE_END = "That page is past the end of the results."


@dataclass(frozen=True)
class Result:
    """One page of a screen. ``next``/``previous`` are page numbers or cursor positions."""

    count: int
    rows: list[dict[str, Any]]
    next: int | Position | None
    previous: int | Position | None
    engine: str  # "numpy" or "sql": the X-Screen-Engine header


def run(
    query: ScreenQuery, paging: Paging, *, version: int | None, stale_before: datetime
) -> Result:
    if paging.position is not None:
        paging.position.check_age(version)
    result = _run(query, paging, version, stale_before)
    if paging.position and paging.position.backwards and not result.rows and result.count:
        # Nothing before the cursor (its rows are gone): the first page, with its links,
        # rather than an empty page a client cannot leave.
        return _run(query, replace(paging, position=None), version, stale_before)
    return result


def _run(query, paging, version, stale_before) -> Result:
    snapshot = snapshots.current(version)
    if snapshot is not None:
        try:
            return _on_snapshot(snapshot, query, paging, version, stale_before)
        except engine.Unsupported:
            pass
    return _on_database(query, paging, version, stale_before)


def _page_numbers(count: int, paging: Paging) -> tuple[int | None, int | None]:
    if paging.offset >= count and paging.page > 1:
        raise NotFound(PAST_THE_END)
    following = paging.page + 1 if paging.offset + paging.size < count else None
    return following, (paging.page - 1 if paging.page > 1 else None)


# --- the engine ---------------------------------------------------------------------------


def _on_snapshot(snap: engine.Snapshot, query: ScreenQuery, paging: Paging, version, stale_before):
    sort = query.ordering
    selected = snap.mask(query.criteria)
    count = int(np.count_nonzero(selected))
    order = snap.order(sort.field, sort.descending)
    if not paging.cursor_mode:
        following, preceding = _page_numbers(count, paging)
        rows = engine.matching(order, selected, paging.offset, paging.size)
        return Result(
            count, snap.render(rows, query.fields, stale_before), following, preceding, "numpy"
        )
    matching = order[selected[order]]  # the matching rows, in list order
    position = paging.position
    if position is None:
        start, backwards = 0, False
    else:
        start, backwards = _cursor_start(snap, order, selected, position, sort), position.backwards
    if backwards:
        first = max(0, start - paging.size)
        rows, more = matching[first:start], first > 0
    else:
        rows = matching[start : start + paging.size]
        more = start + paging.size < len(matching)
    has_next = more if not backwards else True
    has_previous = (more if backwards else position is not None) and len(rows) > 0

    def at(row: int, back: bool) -> Position:
        value = snap.position_value(sort.field, row)
        return Position(value, snap.tickers[row], back, str(sort), version)

    following = at(int(rows[-1]), False) if len(rows) and has_next else None
    preceding = at(int(rows[0]), True) if has_previous else None
    rendered = snap.render(rows, query.fields, stale_before)
    return Result(count, rendered, following, preceding, "numpy")


def _cursor_start(snap, order, selected, position: Position, sort) -> int:
    """
    Where a cursor's page starts among the matching rows. The cursor's row is found by
    its ticker; when it is gone or its value moved (the data changed since the cursor
    was made), the keyset position is the database's to find: the SQL screen answers.
    """
    row = snap.row_of(position.ticker)
    if row is None or snap.position_value(sort.field, row) != position.value:
        raise engine.Unsupported("the cursor's row is not in this snapshot")
    at = int(np.flatnonzero(order == row)[0])  # the row's place in the full order
    matching_before = int(selected[order[:at]].sum())
    if position.backwards:
        return matching_before
    return matching_before + int(selected[row])


# --- the database -------------------------------------------------------------------------


# (data version, active rows): the size of the table the planner hint weighs counts against.
_active_rows: tuple[int, int] | None = None


def _table_rows(version: int) -> int:
    from ..models import Stock

    global _active_rows
    known = _active_rows
    if known is None or known[0] != version:
        known = _active_rows = (version, Stock.objects.active().count())
    return known[1]


def _on_database(query: ScreenQuery, paging: Paging, version, stale_before) -> Result:
    from ..models import Stock

    sort = query.ordering
    columns = columns_for(query.fields or tuple(BY_NAME))
    if paging.cursor_mode:
        columns = tuple(dict.fromkeys((*columns, BY_NAME[sort.field].column)))
    screened = Stock.objects.active().screen(query.criteria)
    count = screened.count()
    # Rows the page query reads: a cursor page asks for one more, to know if more follow.
    wanted = paging.size + (1 if paging.cursor_mode else paging.offset)
    if (
        connections[screened.db].vendor == "sqlite"
        and query.criteria
        and version is not None  # the cache is down: no row count to weigh against
        and count > wanted  # else nothing to weigh, and no need to count the rows
        and sql.walk_the_ordering(count, _table_rows(version), wanted)
    ):
        # Most rows match: SQLite, which cannot tell, is told (see ``sql.Likely``).
        screened = Stock.objects.active().screen(query.criteria, likely=True)
    ordered = screened.ordered(sort)
    if not paging.cursor_mode:
        following, preceding = _page_numbers(count, paging)
        rows = ordered.page_values(paging.offset, paging.offset + paging.size, columns)
        return Result(count, render_values(rows, query.fields, stale_before), following,
                      preceding, "sql")  # fmt: skip
    position = paging.position
    backwards = bool(position and position.backwards)
    field, descending = sort.field, sort.descending
    if position is None:
        page = ordered
    elif backwards:
        page = screened.filter(
            sql.before(field, descending, position.value, position.ticker)
        ).order_by(*sql.reversed_order_by(field, descending))
    else:
        page = ordered.filter(sql.after(field, descending, position.value, position.ticker))
    rows = page.page_values(0, paging.size + 1, columns)
    more = len(rows) > paging.size
    rows = rows[: paging.size]
    if backwards:
        rows.reverse()
    has_next = more if not backwards else True
    has_previous = (more if backwards else position is not None) and bool(rows)
    column = BY_NAME[field].column

    def at(row: dict, back: bool) -> Position:
        value = None if field == "ticker" else row[column]
        return Position(value, row["ticker"], back, str(sort), version)

    following = at(rows[-1], False) if rows and has_next else None
    preceding = at(rows[0], True) if has_previous else None
    rendered = render_values(rows, query.fields, stale_before)
    return Result(count, rendered, following, preceding, "sql")
