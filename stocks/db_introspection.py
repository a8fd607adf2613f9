"""
What the database holds and how it stands: tables, sizes, row counts, the indexes the models
declare, pending migrations. Read by the health checks, the operator commands and the
maintenance services alike (one implementation each).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.migrations.executor import MigrationExecutor

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
    # Declared on a field (unique=True, db_index, a foreign key) rather than in Meta: the
    # database names it, so it is found by its columns; any index led by the column serves.
    on_field: bool = False

    def as_dict(self, present: bool) -> dict:
        return {
            "table": self.table,
            "name": self.name,
            "columns": list(self.columns),
            "unique": self.unique,
            "present": present,
        }

    def is_in(self, existing: dict[str, dict]) -> bool:
        """Whether ``existing`` (introspected constraints of the table) provides this one."""
        if not self.on_field and self.name in existing:
            return True
        width = len(self.columns)
        for info in existing.values():
            if not (info["index"] or info["unique"]):
                continue
            columns = tuple(info["columns"])
            if self.unique and info["unique"] and columns == self.columns:
                return True
            if not self.unique and (
                columns[:width] == self.columns if self.on_field else columns == self.columns
            ):
                return True
        return False


def declared_indexes(app_label: str = APP_LABEL) -> list[DeclaredIndex]:
    """Meta.indexes, unique Meta.constraints, and the indexes fields ask for, per model."""
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
        found.extend(_field_indexes(model))
    return found


def _field_indexes(model: type[models.Model]) -> list[DeclaredIndex]:
    table = model._meta.db_table
    found = []
    for field in model._meta.local_concrete_fields:
        if field.primary_key or not (field.unique or field.db_index):
            continue
        suffix = "uniq" if field.unique else "idx"
        # A name for creating it if missing (the columns, not the name, find it).
        name = f"{table[:14]}_{field.column[:12]}_{suffix}"
        definition = (
            models.UniqueConstraint(fields=[field.name], name=name)
            if field.unique
            else models.Index(fields=[field.name], name=name)
        )
        found.append(
            DeclaredIndex(
                model, table, name, (field.column,), field.unique, definition, on_field=True
            )
        )
    return found


def present_indexes(table: str, using: str = DEFAULT_DB_ALIAS) -> dict[str, dict]:
    connection = connections[using]
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table)


def index_status(using: str = DEFAULT_DB_ALIAS) -> list[tuple[DeclaredIndex, bool]]:
    """Each declared index and whether the database has it (by name, or same columns)."""
    cache: dict[str, dict] = {}
    return [
        (
            declared,
            declared.is_in(
                cache.setdefault(declared.table, present_indexes(declared.table, using))
            ),
        )
        for declared in declared_indexes()
    ]


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


def pending_migrations(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Migrations on disk not yet applied to the database, in the order migrate runs them."""
    executor = MigrationExecutor(connections[using])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def describe_error(exc: Exception) -> str:
    """The exception's class and the first line of its message, short enough for a report."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
