"""Run the health checks of /health/detailed/ from the command line."""

from __future__ import annotations

from stocks.health import CHECKS, DEGRADED, DOWN, run_checks
from stocks.health.report import HealthReport
from stocks.management.base import (
    EXIT_ATTENTION,
    EXIT_FAILED,
    EXIT_OK,
    OperatorCommand,
    OperatorFailed,
)


class CheckRun(HealthReport):
    """A health report as a command result: its exit code follows the overall status."""

    @property
    def exit_code(self) -> int:
        return {DOWN: EXIT_FAILED, DEGRADED: EXIT_ATTENTION}.get(self.status, EXIT_OK)


class Command(OperatorCommand):
    help = (
        "Run the health checks of /health/detailed/ (database, migrations, cache, broker, "
        "workers, disk, memory, cpu, freshness) and print each with its status, message and "
        "duration, by category."
    )
    exit_codes = "0 every check ok, 1 degraded, 2 down"

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="append",
            default=[],
            metavar="NAME",
            help=f"Run only this check; repeatable. One of: {', '.join(CHECKS)}.",
        )

    def perform(self, *, check, **options) -> CheckRun:
        unknown = [name for name in check if name not in CHECKS]
        if unknown:
            raise OperatorFailed(
                f"Unknown check(s): {', '.join(unknown)}. Known: {', '.join(CHECKS)}."
            )
        # In registry order, whatever the order given: the database check must come first.
        return CheckRun(run_checks([name for name in CHECKS if name in check] or None))

    def render(self, report: CheckRun) -> None:
        width = max((len(result.name) for result in report.results), default=0)
        for category, results in report.categories().items():
            self.stdout.write(category)
            for result in results:
                status = self.status_style(result.status)(f"{result.status:<8}")
                self.stdout.write(
                    f"  {status} {result.name:<{width}} {result.duration_ms:9.1f} ms  "
                    f"{result.message}"
                )
        self.stdout.write(self.status_style(report.status)(f"Overall: {report.status}"))
