"""
Database upkeep: create the indexes the models declare but the database lacks, and refresh
the query planner's statistics.

``optimize_database`` runs its steps one after another, times each, and keeps going when
one fails, so a report says exactly what was done. A failed step never undoes the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models

from ..db_introspection import APP_LABEL, DeclaredIndex, describe_error, index_status

DONE, FAILED, PLANNED, SKIPPED = "done", "failed", "planned", "skipped"


@dataclass(frozen=True)
class Step:
    """One thing optimize_database did (or, in a dry run, would do)."""

    name: str
    status: str
    message: str = ""
    duration_ms: float = 0.0
    # A change (index, statistics) rather than the inspection before them: only changes
    # decide whether anything was done.
    is_change: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "duration_ms": round(self.duration_ms, 2),
        }


@dataclass
class OptimizeReport:
    vendor: str
    dry_run: bool
    missing_indexes: list[dict[str, Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    @property
    def status(self) -> str:
        """done (nothing failed), partial (some changes failed) or failed (no change made)."""
        if all(step.status != FAILED for step in self.steps):
            return DONE
        changed = any(step.status == DONE and step.is_change for step in self.steps)
        return "partial" if changed else FAILED

    @property
    def exit_code(self) -> int:
        return {DONE: 0, "partial": 1, FAILED: 2}[self.status]

    @property
    def duration_ms(self) -> float:
        return sum(step.duration_ms for step in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "vendor": self.vendor,
            "dry_run": self.dry_run,
            "missing_indexes": self.missing_indexes,
            "steps": [step.as_dict() for step in self.steps],
            "duration_ms": round(self.duration_ms, 2),
        }


def optimize_database(
    *, dry_run: bool = False, optimize_tables: bool = False, using: str = DEFAULT_DB_ALIAS
) -> OptimizeReport:
    """
    Compare declared and present indexes, create the missing ones, then refresh the planner
    statistics (``OPTIMIZE TABLE`` too, on MySQL/MariaDB, with ``optimize_tables``: it
    rebuilds each table). A dry run inspects and lists, and changes nothing.
    """
    connection = connections[using]
    report = OptimizeReport(vendor=connection.vendor, dry_run=dry_run)

    started = time.perf_counter()
    try:
        inspected = index_status(using)
    except DatabaseError as exc:  # unreachable: every other step would fail the same way
        report.steps.append(
            Step(
                "inspect indexes", FAILED, describe_error(exc), _ms_since(started), is_change=False
            )
        )
        return report
    missing = [declared for declared, present in inspected if not present]
    report.missing_indexes = [declared.as_dict(present=False) for declared in missing]
    report.steps.append(
        Step(
            "inspect indexes",
            DONE,
            f"{len(inspected)} declared, {len(missing)} missing",
            _ms_since(started),
            is_change=False,
        )
    )

    for declared in missing:
        name = f"create index {declared.name} on {declared.table} ({', '.join(declared.columns)})"
        if dry_run:
            report.steps.append(Step(name, PLANNED))
        else:
            report.steps.append(_timed(name, lambda d=declared: create_index(d, using=using)))

    for statement in statistics_statements(
        connection.vendor,
        app_tables(),
        optimize_tables=optimize_tables,
        quote_name=connection.ops.quote_name,
    ):
        if dry_run:
            report.steps.append(Step(statement, PLANNED))
        else:
            report.steps.append(
                _timed(statement, lambda s=statement: run_statement(s, using=using))
            )
    if optimize_tables and connection.vendor != "mysql":
        report.steps.append(
            Step("OPTIMIZE TABLE", SKIPPED, "only MySQL/MariaDB tables are rebuilt")
        )
    return report


def create_index(declared: DeclaredIndex, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """
    Create one declared index or unique constraint as a migration would; on PostgreSQL an
    index is built CONCURRENTLY, so ingest keeps writing to the table meanwhile.
    """
    connection = connections[using]
    if connection.vendor == "postgresql" and isinstance(declared.definition, models.Index):
        # CONCURRENTLY cannot run inside a transaction block. A build that fails leaves an
        # INVALID index under the name, which the planner ignores but inspection would
        # count as present: drop it, so the next run builds it again.
        with connection.schema_editor(atomic=False) as editor:
            try:
                editor.add_index(declared.model, declared.definition, concurrently=True)
            except DatabaseError:
                editor.remove_index(declared.model, declared.definition, concurrently=True)
                raise
        return
    # One schema editor per index: a failure rolls back that index alone (where DDL is
    # transactional) and the others are still created.
    with connection.schema_editor() as editor:
        if isinstance(declared.definition, models.Index):
            editor.add_index(declared.model, declared.definition)
        else:
            editor.add_constraint(declared.model, declared.definition)


def app_tables() -> list[str]:
    return [model._meta.db_table for model in apps.get_app_config(APP_LABEL).get_models()]


def statistics_statements(
    vendor: str, tables: list[str], *, optimize_tables: bool, quote_name: Callable[[str], str]
) -> list[str]:
    """The statements that refresh planner statistics on ``vendor``."""
    if vendor == "sqlite":
        # PRAGMA optimize also lets SQLite decide what else is worth re-analysing.
        return ["ANALYZE", "PRAGMA optimize"]
    if vendor == "postgresql":
        return ["ANALYZE"]
    if vendor == "mysql":
        names = [quote_name(table) for table in tables]
        # OPTIMIZE rebuilds the table (recreate + analyze on InnoDB); ANALYZE after it
        # samples the rebuilt table.
        rebuild = [f"OPTIMIZE TABLE {name}" for name in names] if optimize_tables else []
        return rebuild + [f"ANALYZE TABLE {name}" for name in names]
    return []


def refresh_statistics(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """
    Refresh the planner's statistics, after a bulk load: without them the SQL screen's
    planner counts and sorts tens of thousands of rows where an index walk would do.
    Not inside a caller's transaction: its rows are not committed yet, and MySQL's
    ANALYZE TABLE would commit it.
    """
    connection = connections[using]
    if connection.in_atomic_block:
        return
    statements = statistics_statements(
        connection.vendor, app_tables(), optimize_tables=False, quote_name=connection.ops.quote_name
    )
    for statement in statements:
        run_statement(statement, using=using)


class StatementFailed(DatabaseError):
    """MySQL's ANALYZE/OPTIMIZE TABLE report errors as result rows, not as exceptions."""


def run_statement(statement: str, *, using: str = DEFAULT_DB_ALIAS) -> str:
    """Execute a maintenance statement; return what the server said about it, if anything."""
    with connections[using].cursor() as cursor:
        cursor.execute(statement)
        rows = cursor.fetchall() if cursor.description else []
    # MySQL answers (Table, Op, Msg_type, Msg_text) rows; other backends answer nothing.
    messages = [(str(row[2]).lower(), str(row[3])) for row in rows if len(row) == 4]
    errors = [text for kind, text in messages if kind == "error"]
    if errors:
        raise StatementFailed("; ".join(errors))
    return "; ".join(text for kind, text in messages if text != "OK")


def _timed(name: str, action: Callable[[], object]) -> Step:
    started = time.perf_counter()
    try:
        outcome = action()
    except DatabaseError as exc:
        return Step(name, FAILED, describe_error(exc), _ms_since(started))
    return Step(name, DONE, outcome if isinstance(outcome, str) else "", _ms_since(started))


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
