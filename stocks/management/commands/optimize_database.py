"""Create missing declared indexes and refresh the planner statistics."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from stocks.management.base import OperatorCommand
from stocks.services.database_maintenance import OptimizeReport, optimize_database


class Command(OperatorCommand):
    help = (
        "Compare the indexes the models declare with those in the database and create the "
        "missing ones, then refresh the query planner's statistics (SQLite ANALYZE and "
        "PRAGMA optimize, PostgreSQL ANALYZE, MySQL/MariaDB ANALYZE TABLE per app table). "
        "Reports each step and how long it took."
    )
    exit_codes = (
        "0 every step done, 1 some steps failed and others were done, "
        "2 nothing could be done (e.g. the database is unreachable)"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the missing indexes and the statements that would run; change nothing.",
        )
        parser.add_argument(
            "--optimize-tables",
            action="store_true",
            help="MySQL/MariaDB: also OPTIMIZE TABLE each app table. It rebuilds the tables: "
            "slow on large ones, run it in a quiet hour.",
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default)."
        )

    def perform(self, *, dry_run, optimize_tables, database, **options) -> OptimizeReport:
        return optimize_database(dry_run=dry_run, optimize_tables=optimize_tables, using=database)

    def render(self, report: OptimizeReport) -> None:
        title = f"Database: {report.vendor}" + (" (dry run: nothing is changed)" * report.dry_run)
        self.stdout.write(title)
        if report.missing_indexes:
            self.stdout.write(f"Missing indexes ({len(report.missing_indexes)}):")
            for index in report.missing_indexes:
                kind = "unique " if index["unique"] else ""
                columns = ", ".join(index["columns"])
                self.stdout.write(f"  {index['name']}: {kind}{index['table']} ({columns})")
        width = max(len(step.name) for step in report.steps)
        for step in report.steps:
            status = self.status_style(step.status)(f"{step.status:<8}")
            line = f"  {status} {step.name:<{width}} {step.duration_ms:9.1f} ms"
            self.stdout.write(f"{line}  {step.message}".rstrip())
        self.stdout.write(
            self.status_style(report.status)(
                f"{report.status.capitalize()}: {len(report.steps)} step(s) in "
                f"{report.duration_ms:.0f} ms."
            )
        )
