"""What the database holds: tables, sizes, row counts, and the indexes the models declare."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections, models

APP_LABEL = "stocks"


@dataclass(frozen=True)
class DeclaredIndex:
    """An index or unique constraint a model declares, and whether the database has it."""

    model: type[models.Model]
    table: str
    name: str
    columns: tuple[str, ...]
    unique: bool
    definition: models.Index | models.UniqueConstraint

    def as_dict(self, present: bool) -> dict:
        return {
            "table": self.table,
            "name": self.name,
            "columns": list(self.columns),
            "unique": self.unique,
            "present": present,
        }


def declared_indexes(app_label: str = APP_LABEL) -> list[DeclaredIndex]:
    """Meta.indexes and Meta.constraints (unique) of the app's models."""
    found = []
    for model in apps.get_app_config(app_label).get_models():
        table = model._meta.db_table

        def columns(field_names, model=model) -> tuple[str, ...]:
            return tuple(model._meta.get_field(f.lstrip("-")).column for f in field_names)

        for index in model._meta.indexes:
            found.append(
                DeclaredIndex(model, table, index.name, columns(index.fields), False, index)
            )
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
                found.append(
                    DeclaredIndex(
                        model, table, constraint.name, columns(constraint.fields), True, constraint
                    )
                )
    return found


def present_indexes(table: str, using: str = DEFAULT_DB_ALIAS) -> dict[str, dict]:
    connection = connections[using]
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table)


def index_status(using: str = DEFAULT_DB_ALIAS) -> list[tuple[DeclaredIndex, bool]]:
    """Each declared index and whether the database has it (by name, or same columns)."""
    result = []
    cache: dict[str, dict] = {}
    for declared in declared_indexes():
        existing = cache.setdefault(declared.table, present_indexes(declared.table, using))
        present = declared.name in existing or any(
            tuple(info["columns"]) == declared.columns
            and (info["unique"] or not declared.unique)
            and (info["index"] or info["unique"])
            for info in existing.values()
        )
        result.append((declared, present))
    return result


def _table_size(cursor, vendor: str, table: str) -> int | None:
    if vendor == "mysql":
        cursor.execute(
            "SELECT data_length + index_length FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = %s",
            [table],
        )
    elif vendor == "postgresql":
        cursor.execute("SELECT pg_total_relation_size(%s)", [table])
    elif vendor == "sqlite":
        try:  # dbstat exists only when SQLite was built with it
            cursor.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = %s", [table])
        except Exception:  # noqa: BLE001 - no dbstat: size unknown
            return None
    else:
        return None
    row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else None


def table_stats(using: str = DEFAULT_DB_ALIAS) -> list[dict]:
    connection = connections[using]
    stats = []
    with connection.cursor() as cursor:
        for model in apps.get_app_config(APP_LABEL).get_models():
            table = model._meta.db_table
            stats.append(
                {
                    "table": table,
                    "rows": model.objects.using(using).count(),
                    "size_bytes": _table_size(cursor, connection.vendor, table),
                }
            )
    return stats


def database_report(using: str = DEFAULT_DB_ALIAS) -> dict:
    connection = connections[using]
    indexes = index_status(using)
    return {
        "vendor": connection.vendor,
        "version": _server_version(connection),
        "tables": table_stats(using),
        "indexes": [declared.as_dict(present) for declared, present in indexes],
        "missing_indexes": [declared.name for declared, present in indexes if not present],
    }


def _server_version(connection) -> str:
    if connection.vendor == "sqlite":
        return connection.Database.sqlite_version
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT VERSION()" if connection.vendor == "mysql" else "SHOW server_version"
        )
        return str(cursor.fetchone()[0])
