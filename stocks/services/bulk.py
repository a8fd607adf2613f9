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

from collections.abc import Callable, Sequence
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
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # SQLite counts its parameters (Django assumes 999 there); the servers take 1,000 rows.
    limit = connection.features.max_query_params
    size = BATCH_SIZE if limit is None else max(1, min(BATCH_SIZE, limit // len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            params = [value for values in batch for value in values]
            cursor.execute(head + ", ".join([row] * len(batch)) + " " + suffix, params)
    return len(rows)


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
