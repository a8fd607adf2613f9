"""Versions, configuration, data, freshness, migrations, workers and provider at a glance."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from stocks.health.status import StatusReport, system_status
from stocks.management.base import OperatorCommand


def _when(value) -> str:
    return value.isoformat() if value else "none"


class Command(OperatorCommand):
    help = (
        "Show versions (Python, Django, DRF, Celery, app), the configuration (passwords "
        "masked), row counts per table, data freshness, pending migrations and the Celery "
        "workers that answer a ping."
    )
    exit_codes = (
        "0 everything as expected, 1 something needs attention (pending migrations, stale "
        "data, no Celery worker while tasks are not run inline), 2 database unreachable"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default)."
        )

    def perform(self, *, database, **options) -> StatusReport:
        return system_status(using=database)

    def render(self, report: StatusReport) -> None:
        write = self.stdout.write
        write("Versions")
        write("  " + ", ".join(f"{name} {number}" for name, number in report.versions.items()))

        config = report.configuration
        db, cache, celery = config["database"], config["cache"], config["celery"]
        where = ":".join(part for part in (db["host"], db["port"]) if part)
        write("Configuration")
        write(f"  environment  {config['django_env']}, debug {'on' if config['debug'] else 'off'}")
        write(f"  database     {db['vendor']} {db['name']}" + (f" on {where}" if where else ""))
        write(f"  cache        {cache['backend']} {cache['location']}".rstrip())
        mode = "eager (tasks run inline)" if celery["eager"] else "workers"
        write(f"  celery       {mode}, broker {celery['broker_url']}")

        write("Database")
        if not report.database.get("reachable"):
            write(self.style.ERROR(f"  unreachable: {report.database['error']}"))
        else:
            for table in report.database.get("tables", []):
                write(f"  {table['table']:<24} {table['rows']:>10} rows")
            if "error" in report.database:
                write(self.style.WARNING(f"  {report.database['error']}"))

        if report.freshness:
            write("Data")
            fresh = report.freshness
            if "error" in fresh:
                write(self.style.WARNING(f"  {fresh['error']}"))
            else:
                write(f"  newest quote {_when(fresh['newest_quote'])}")
                write(
                    f"  {fresh['stale_stocks']} of {fresh['active_stocks']} active stock(s) "
                    f"stale (quoted before {_when(fresh['stale_before'])})"
                )
        if report.migrations:
            pending = report.migrations.get("pending")
            write("Migrations")
            if pending is None:
                write(self.style.WARNING(f"  {report.migrations['error']}"))
            else:
                write(f"  {len(pending)} pending" + (f": {', '.join(pending)}" * bool(pending)))

        write("Celery workers")
        seen = report.workers["seen"]
        write(f"  {report.workers['message']}" + (f": {', '.join(seen)}" if seen else ""))

        provider = report.provider
        write(f"Market data provider: {provider['name']}")
        for endpoint, state in provider["endpoints"].items():
            line = f"  {endpoint:<9} circuit {state['state']}"
            if state["consecutive_failures"]:
                line += f", {state['consecutive_failures']} consecutive failure(s)"
            if state["reopens_at"]:
                line += f", trial call after {state['reopens_at']}"
            write(line)

        for item in report.attention:
            write(self.style.WARNING(f"Attention: {item}"))
        write(self.status_style(report.status)(f"Status: {report.status}"))
