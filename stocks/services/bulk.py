"""
Writing many rows at once: the ingest's hot path.

Django's ``bulk_update`` builds a ``CASE WHEN id = ... THEN ...`` per field and row: 10,000
quotes took 37-75 s of Python on MariaDB. ``bulk_create(update_conflicts=True)`` builds a
model instance per row and prepares every column of each: 4 s for 10,000 quotes, 18 s for
100,000 bars. ``upsert`` sends one ``INSERT ... ON CONFLICT ... DO UPDATE`` (``ON DUPLICATE
KEY UPDATE`` on MySQL/MariaDB: the SQL of Django's own upsert) per batch of plain values.
``write_columns`` stores a few columns of saved rows that way: the primary key, every NOT
NULL column (the insert half must be valid: Django's defaults are not the database's) and
the columns written. The rows exist and their key is given, so nothing is inserted and
MySQL consumes no auto-increment values. Only date-times need the backend's conversion.
Measured by bench/ingest.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.db.models.constants import OnConflict

BATCH_SIZE = 1000


def _converter(field: models.Field) -> Callable[[Any], Any]:
    if isinstance(field, models.DateTimeField | models.DateField):
        return lambda value: field.get_db_prep_save(value, connection)
    return lambda value: value  # str, int, float, bool, Decimal: the drivers take them as they are


def upsert(
    model: type[models.Model],
    *,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    conflict: Sequence[str],
    update: Sequence[str],
) -> int:
    """
    ``INSERT ... ON CONFLICT (conflict) DO UPDATE SET update`` of ``rows`` (values for
    ``columns``, field names, ready for the driver), one statement per batch; the rows sent.
    """
    meta = model._meta
    fields = [meta.get_field(name) for name in columns]
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(
        quote(meta.db_table), ", ".join(quote(f.column) for f in fields)
    )
    suffix = connection.ops.on_conflict_suffix_sql(
        fields,
        OnConflict.UPDATE,
        [meta.get_field(name).column for name in update],
        [meta.get_field(name).column for name in conflict],
    )
    values = _values_mysql if connection.vendor == "mysql" else _values_bound
    # SQLite counts its parameters (Django assumes 999 there); the servers take 1,000 rows.
    limit = connection.features.max_query_params
    size = BATCH_SIZE if limit is None else max(1, min(BATCH_SIZE, limit // len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            sql, params = values(rows[start : start + size], len(fields))
            cursor.execute(head + sql + " " + suffix, params)
    return len(rows)


def _values_bound(rows: Sequence[Sequence[Any]], width: int) -> tuple[str, list[Any]]:
    """``(%s, ...), ...`` for ``rows``, and the parameters: the driver binds every value."""
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * len(rows)), [value for values in rows for value in values]


def _values_mysql(rows: Sequence[Sequence[Any]], width: int) -> tuple[str, list[Any]]:
    """
    As ``_values_bound``, with numbers and NULLs written as the text mysqlclient would
    send for them (it interpolates every parameter in Python, about 1 µs each: a third of
    the time of 100,000 bars). Other values (text, dates) stay parameters for the driver.
    """
    params: list[Any] = []
    rendered = []
    for values in rows:
        texts = []
        for value in values:
            text = _number_text(value)
            if text is None:
                texts.append("%s")
                params.append(value)
            else:
                texts.append(text)
        rendered.append("(" + ", ".join(texts) + ")")
    return ", ".join(rendered), params


def _number_text(value: Any) -> str | None:
    """mysqlclient's own literal for an int, a finite Decimal or float, or None; else None."""
    kind = type(value)
    if kind is int:
        return str(value)  # MySQLdb.converters.Thing2Str
    if kind is Decimal:
        return format(value, "f") if value.is_finite() else None  # Decimal2Literal
    if value is None:
        return "NULL"  # None2NULL
    if kind is float and math.isfinite(value):
        text = repr(value)  # Float2Str: an exponent makes MySQL read a double
        return text if "e" in text else text + "e0"
    return None


def write_columns(objects: Sequence[models.Model], fields: Sequence[str]) -> int:
    """Store ``fields`` of these saved model instances (same model); the rows written."""
    if not objects:
        return 0
    model = type(objects[0])
    meta = model._meta
    written = [meta.get_field(name) for name in fields]
    required = [
        f for f in meta.concrete_fields if not f.null and not f.primary_key and f not in written
    ]
    columns = [meta.pk, *required, *written]
    converters = [(_converter(f), f.attname) for f in columns]
    return upsert(
        model,
        columns=[f.name for f in columns],
        rows=[
            [convert(getattr(obj, attname)) for convert, attname in converters] for obj in objects
        ],
        conflict=[meta.pk.name],
        update=list(fields),
    )
